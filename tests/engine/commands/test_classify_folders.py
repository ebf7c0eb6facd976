"""Folders walked by `classify` and `--segments` leave nothing out without a word (issue 25, D19)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from tests.conftest import sine
from tests.engine.onnx_fixtures import tone_model

ROOT = Path(__file__).resolve().parents[3]


def _main(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_an_empty_folder_is_an_error_not_silence(tmp_path):
    model = tone_model(tmp_path / "m.onnx")
    (tmp_path / "empty").mkdir()
    run = _main("classify", model, tmp_path / "empty")
    assert run.returncode == 1 and "no audio files found" in run.stderr and str(tmp_path / "empty") in run.stderr


def test_a_link_loop_inside_a_folder_is_reported_and_the_rest_classified(tmp_path):
    model = tone_model(tmp_path / "m.onnx")
    data = tmp_path / "data"
    data.mkdir()
    sf.write(data / "a.wav", sine(300, 1.0, 8000), 8000)
    os.symlink(data / "loop2", data / "loop1")
    os.symlink(data / "loop1", data / "loop2")
    for extra in ([], ["--segments", "--out", tmp_path / "t"]):
        run = _main("classify", model, data, *extra)
        assert run.returncode == 0, run.stderr
        assert "a.wav" in run.stdout
        assert f"{data / 'loop1'}:" in run.stderr and f"{data / 'loop2'}:" in run.stderr and "left out" in run.stderr


def test_calibrating_on_silent_files_only_says_they_were_left_out_as_silent(tmp_path):  # D27
    import numpy as np

    from engine.classify.files import calibrate_to_files
    from engine.models.classifier import OnnxClassifier
    from tests.helpers_calibration import SR, write_calibratable_model

    model = OnnxClassifier.load(write_calibratable_model(tmp_path / "m.onnx"))
    sf.write(tmp_path / "quiet.wav", np.zeros(SR * 3, np.float32), SR)
    with pytest.raises(ValueError, match="quiet.wav: not used for calibration: it is silent"):
        calibrate_to_files(model, [tmp_path / "quiet.wav"])


@pytest.mark.skipif(sys.platform != "linux" or shutil.which("setpriv") is None, reason="needs setpriv")
def test_an_unreadable_subfolder_is_reported():
    """Run as an unprivileged user (root reads every folder), the walk says what it left out."""
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="earmark-d19-"))  # pytest's tmp_path is private to root
    try:
        data = top / "data"
        (data / "locked").mkdir(parents=True)
        (data / "locked").chmod(0)
        for folder in (top, data):
            folder.chmod(0o755)
        probe = ("import sys; sys.path.insert(0, sys.argv[1]); from engine.classify.files import iter_audio_files; "
                 "s = []; list(iter_audio_files([sys.argv[2]], s)); print(s)")
        as_nobody = [] if os.geteuid() != 0 else ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        run = subprocess.run([*as_nobody, sys.executable, "-c", probe, str(ROOT), str(data)], capture_output=True,
                             text=True, timeout=60, cwd="/")
        assert run.returncode == 0, run.stderr
        assert f"{data / 'locked'}: the folder cannot be read" in run.stdout and "left out" in run.stdout
    finally:
        (top / "data" / "locked").chmod(0o755)
        shutil.rmtree(top)
