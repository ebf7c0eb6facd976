"""`main.py audit` ranks clips headless: suspects.csv most suspect first, clear errors naming the file."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

import main
from engine.datasets.synth import write_esc50
from tests.conftest import sine
from tests.engine.onnx_fixtures import tone_model

REPO = Path(__file__).resolve().parents[3]
FLIPPED = {"1-100000-A-0.wav": "rooster", "2-101001-A-1.wav": "pig", "3-102002-A-2.wav": "dog"}


@pytest.fixture
def flipped_csv(tmp_path):
    """A CSV data set over synthetic ESC-50 clips with three labels flipped."""
    root = write_esc50(tmp_path / "esc", n_classes=3, clips_per_class=10, seconds=0.5, sample_rate_hz=8000)
    with open(root / "meta" / "esc50.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    lines = ["path,label,group"]
    for row in rows:
        label = FLIPPED.get(row["filename"], row["category"])
        lines.append(f"audio/{row['filename']},{label},{row['src_file']}")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root / "labels.csv"


def _read(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_python_main_audit_ranks_flipped_clips_first(flipped_csv, tmp_path):
    out = tmp_path / "suspects.csv"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(REPO / "main.py"), "audit", "--data", str(flipped_csv),
                           "--layout", "csv", "--out", str(out), "--folds", "3", "--seed", "0"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = _read(out)
    assert list(rows[0]) == ["rank", "path", "label", "predicted", "predicted_prob", "label_quality", "is_issue",
                            "judged"]
    assert [int(r["rank"]) for r in rows] == list(range(1, 31))
    top = {Path(r["path"]).name for r in rows[:3]}
    assert top == set(FLIPPED), rows[:5]
    assert all(r["is_issue"] == "True" for r in rows[:3])
    assert "likely label issues" in proc.stdout
    # the original metadata is untouched
    assert "1-100000-A-0.wav,rooster" in flipped_csv.read_text()


def test_audit_with_a_model(tmp_path, write_wav, capsys):
    for i in range(4):
        write_wav(f"d/low/l{i}.wav", sine(300 + 7 * i, 0.5, 8000), 8000)
        write_wav(f"d/high/h{i}.wav", sine(2000 + 7 * i, 0.5, 8000), 8000)
    write_wav("d/high/odd.wav", sine(300, 0.5, 8000), 8000)
    model = tone_model(tmp_path / "tone.onnx")
    out = tmp_path / "s.csv"
    assert main.main(["audit", "--data", str(tmp_path / "d"), "--layout", "folders", "--out", str(out),
                      "--model", str(model)]) == 0
    assert _read(out)[0]["path"] == "high/odd.wav"


def test_bad_data_is_a_clear_error_naming_the_file(tmp_path, capsys):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "labels.csv").write_text("path,label\nnope.wav,dog\n")
    code = main.main(["audit", "--data", str(tmp_path / "ds" / "labels.csv"), "--layout", "csv",
                      "--out", str(tmp_path / "s.csv")])
    err = capsys.readouterr().err
    assert code != 0
    assert "labels.csv" in err and "nope.wav" in err
    assert not (tmp_path / "s.csv").exists()


def test_a_broken_wav_is_named(tmp_path, write_wav, capsys):
    for i in range(3):
        write_wav(f"d/a/{i}.wav", sine(300, 0.3, 8000), 8000)
        write_wav(f"d/b/{i}.wav", sine(900, 0.3, 8000), 8000)
    (tmp_path / "d" / "a" / "broken.wav").write_bytes(b"RIFF not really")
    code = main.main(["audit", "--data", str(tmp_path / "d"), "--layout", "folders", "--out",
                      str(tmp_path / "s.csv")])
    assert code != 0
    assert "broken.wav" in capsys.readouterr().err


def test_cleanlab_s_own_warnings_stay_out_of_the_output(tmp_path, capfd):
    """A class with one clip makes cleanlab warn "May not flag all label issues in class"."""
    root = write_esc50(tmp_path / "esc", n_classes=3, clips_per_class=8, seconds=0.5, sample_rate_hz=8000)
    with open(root / "meta" / "esc50.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    lines, rare = ["path,label,group"], 0
    for row in rows:
        label = row["category"]
        if label == rows[0]["category"]:
            rare += 1
            if rare > 1:
                continue        # the first class keeps one clip
        lines.append(f"audio/{row['filename']},{label},{row['src_file']}")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    # a fresh interpreter: in-process, pytest would collect the warnings before they reach stderr
    proc = subprocess.run([sys.executable, str(REPO / "main.py"), "audit", "--data", str(root / "labels.csv"),
                           "--out", str(tmp_path / "s.csv")], cwd=REPO, capture_output=True, text=True,
                          timeout=240, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "clips scored" in proc.stdout
    assert "warn" not in proc.stderr.lower() and "cleanlab/" not in proc.stderr, proc.stderr
    assert "too few examples" not in proc.stdout + proc.stderr and "Warning" not in proc.stdout
