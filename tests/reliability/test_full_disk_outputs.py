"""Full disks and read-only folders under `clips` and `classify --segments` (issue 25, D15, D16):
a `SaveError` naming the file and "the disk is full", no traceback, no half file left, and the
other recordings still processed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.conftest import sine
from tests.engine.onnx_fixtures import tone_model
from tests.reliability.test_full_disk import tiny_disk  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]


def _main(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".tmp" in p.name or p.name.endswith(".partial"))


def test_clips_on_a_full_disk_is_a_save_error_with_no_half_clip(tiny_disk, tmp_path):  # noqa: F811
    rec = tmp_path / "rec.wav"
    sf.write(rec, 0.1 * np.random.default_rng(0).standard_normal(16000 * 30).astype(np.float32), 16000,
             subtype="FLOAT")
    (tmp_path / "rec.txt").write_text("".join(f"{2 * i}\t{2 * i + 2}\tbird\n" for i in range(10)))
    run = _main("clips", "--audio", rec, "--labels", tmp_path / "rec.txt", "--out", tiny_disk / "ds")
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert "disk is full" in run.stderr
    assert _leftovers(tiny_disk) == []
    for clip in (tiny_disk / "ds").rglob("*.wav"):  # the clips that were written are whole
        assert sf.info(clip).frames == 32000


def test_clips_into_a_read_only_folder_is_a_save_error(tmp_path):
    if os.geteuid() == 0:
        import pytest
        pytest.skip("root writes into read-only folders")
    rec = tmp_path / "rec.wav"
    sf.write(rec, sine(440, 3.0, 8000), 8000)
    (tmp_path / "rec.txt").write_text("1\t2\tbird\n")
    out = tmp_path / "ro"
    out.mkdir(mode=0o555)
    run = _main("clips", "--audio", rec, "--labels", tmp_path / "rec.txt", "--out", out)
    assert run.returncode == 2 and "Traceback" not in run.stderr


def test_segments_on_a_full_disk_name_the_table_and_go_on(tiny_disk, tmp_path):  # noqa: F811
    model = tone_model(tmp_path / "m.onnx")
    filler = tiny_disk / "filler"
    with open(filler, "wb", buffering=0) as handle:  # fill the disk but for a few KiB
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass
    os.truncate(filler, max(filler.stat().st_size - 8192, 0))
    recs = []
    for n in range(2):
        recs.append(tmp_path / f"r{n}.wav")
        x = np.concatenate([np.concatenate([sine(300, 0.5, 8000), sine(2000, 0.5, 8000)]) for _ in range(400)])
        sf.write(recs[-1], x, 8000)
    run = _main("classify", model, *recs, "--segments", "--format", "csv", "--out", tiny_disk / "t")
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert "disk is full" in run.stderr and "r1.csv" in run.stderr  # the second file was tried too
    assert _leftovers(tiny_disk) == []
