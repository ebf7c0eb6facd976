"""`classify --segments --out DIR` never replaces or deletes a file it did not write (issue 25, S3, D2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from engine.annotations.formats import read_regions
from tests.conftest import sine
from tests.engine.onnx_fixtures import tone_model

ROOT = Path(__file__).resolve().parents[3]


def _main(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_hand_made_tables_beside_the_recordings_are_neither_replaced_nor_deleted(tmp_path):
    model = tone_model(tmp_path / "m.onnx")
    recs = tmp_path / "recs"
    recs.mkdir()
    sf.write(recs / "rec.wav", sine(300, 2.0, 8000), 8000)
    (recs / "rec2.wav").write_bytes(b"")  # unreadable
    mine = b"1.000000\t2.000000\tmy own label\n"
    (recs / "rec.txt").write_bytes(mine)
    (recs / "rec2.txt").write_bytes(mine)
    run = _main("classify", model, recs, "--segments", "--format", "audacity", "--out", recs)
    assert run.returncode == 1
    assert (recs / "rec.txt").read_bytes() == mine and (recs / "rec2.txt").read_bytes() == mine
    assert f"{recs / 'rec.txt'} exists" in run.stderr and "--force" in run.stderr
    assert sorted(p.name for p in recs.iterdir()) == ["rec.txt", "rec.wav", "rec2.txt", "rec2.wav"]

    forced = _main("classify", model, recs, "--segments", "--format", "audacity", "--out", recs, "--force")
    assert forced.returncode == 1  # rec2.wav still cannot be read
    assert [r.label for r in read_regions(recs / "rec.txt")[None]] == ["low"]
    (backup,) = recs.glob("rec.backup-*.txt")
    assert backup.read_bytes() == mine and (recs / "rec2.txt").read_bytes() == mine
    again = _main("classify", model, recs / "rec.wav", "--segments", "--format", "audacity", "--out", recs)
    assert again.returncode == 0, again.stderr  # its own table from the last run is replaced without asking
    assert len(list(recs.glob("rec.backup-*.txt"))) == 1


def test_two_files_that_map_to_one_table_write_two_tables(tmp_path):
    model = tone_model(tmp_path / "m.onnx")
    data = tmp_path / "data"
    data.mkdir()
    sf.write(data / "good1.wav", sine(300, 2.0, 8000), 8000)
    sf.write(data / "good1.flac", sine(2000, 2.0, 8000), 8000)
    run = _main("classify", model, data, "--segments", "--format", "audacity", "--out", tmp_path / "t")
    assert run.returncode == 0, run.stderr
    tables = [line.split("\t")[-1] for line in run.stdout.splitlines()]
    assert len(set(tables)) == 2
    labels = sorted(read_regions(Path(t))[None][0].label for t in tables)
    assert labels == ["high", "low"]


def test_silence_is_never_a_segment_and_is_said(tmp_path):  # D3
    model = tone_model(tmp_path / "m.onnx")
    sf.write(tmp_path / "silence.wav", np.zeros(8000 * 60, np.float32), 8000)
    x = np.concatenate([np.zeros(8000 * 5, np.float32), sine(300, 2.0, 8000), np.zeros(8000 * 5, np.float32)])
    sf.write(tmp_path / "tone.wav", x, 8000)
    run = _main("classify", model, tmp_path / "silence.wav", tmp_path / "tone.wav", "--segments", "--format", "csv",
                "--out", tmp_path / "t")
    assert run.returncode == 0, run.stderr
    assert read_regions(tmp_path / "t" / "silence.csv").get(None, []) == []
    assert "silence.wav: silent throughout" in run.stderr
    (tone,) = read_regions(tmp_path / "t" / "tone.csv")[None]
    assert tone.label == "low" and 4.4 <= tone.start_s <= 5.0 and 7.0 <= tone.end_s <= 7.6


def test_a_partial_table_left_by_a_killed_run_does_not_block_the_next(tmp_path):
    model = tone_model(tmp_path / "m.onnx")
    sf.write(tmp_path / "r.wav", sine(300, 2.0, 8000), 8000)
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "r.csv.partial").write_text("start_s,end_s\n0.0")  # what a SIGKILL leaves
    run = _main("classify", model, tmp_path / "r.wav", "--segments", "--out", tmp_path / "t")
    assert run.returncode == 0, run.stderr
    assert [r.label for r in read_regions(tmp_path / "t" / "r.csv")[None]] == ["low"]
    assert not (tmp_path / "t" / "r.csv.partial").exists()
