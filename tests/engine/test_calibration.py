"""Calibratable models: a speaker's band statistics fed to the graph, pooled from its own audio
(the fixture model and its numpy reference: tests/helpers_calibration.py)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.calibration import calibrate_to_clips
from engine.cli import run_classify
from engine.errors import ModelLoadError
from engine.jobs import Cancelled, CancelToken
from engine.model import OnnxClassifier
from tests.helpers_calibration import (
    DEFAULT,
    LABELS,
    N_MELS,
    SR,
    N,
    expected_probs,
    pooled_stats,
    windows_of,
    write_calibratable_model,
)
from tests.helpers_onnx import write_tone_model

ROOT = Path(__file__).resolve().parents[2]


def _speaker(seed: int, offset: float):
    rng = np.random.default_rng(seed)
    long = (offset + 0.2 * rng.standard_normal(int(2.5 * N))).astype(np.float32)   # 2.5 windows
    short = (offset + 0.2 * rng.standard_normal(N // 3)).astype(np.float32)        # padded
    return [long, short]


def test_a_calibrated_model_uses_the_speakers_pooled_statistics(tmp_path):
    model = OnnxClassifier.load(write_calibratable_model(tmp_path / "cal.onnx"), threads=1)   # through the sandbox
    assert model.calibratable and model.n_bands == N_MELS and model.calibration is None
    clips = _speaker(1, offset=0.3)
    window = windows_of(clips[0])
    np.testing.assert_allclose(model.predict(window), expected_probs(window, DEFAULT), atol=1e-5)

    stats = model.calibrate(clips)
    np.testing.assert_allclose(stats, pooled_stats(clips), rtol=1e-4, atol=1e-5)
    model.set_calibration(stats)
    calibrated = model.predict(window)
    np.testing.assert_allclose(calibrated, expected_probs(window, stats), atol=1e-5)
    assert np.abs(calibrated - expected_probs(window, DEFAULT)).max() > 0.05
    long_clip = clips[0]
    np.testing.assert_allclose(model.classify(long_clip), expected_probs(windows_of(long_clip), stats).mean(axis=0),
                               atol=1e-5)
    again = calibrate_to_clips(model, clips)   # an earlier calibration is not fed to the moments
    np.testing.assert_array_equal(again.stats, stats)
    assert (again.n_clips, again.n_windows) == (2, sum(len(windows_of(c)) for c in clips)) == (2, 5)
    model.set_calibration(None)
    np.testing.assert_allclose(model.predict(window), expected_probs(window, DEFAULT), atol=1e-5)


@pytest.mark.parametrize("stats, message", [
    (np.full((2, N_MELS), np.nan), "finite"),
    (np.ones((2, N_MELS + 1)), r"\[2, 4\]"),
    (np.stack([np.zeros(N_MELS), np.zeros(N_MELS)]), "at least"),
])
def test_bad_statistics_are_refused_and_a_plain_model_is_not_calibratable(tmp_path, stats, message):
    model = OnnxClassifier.load(write_calibratable_model(tmp_path / "cal.onnx"), sandbox=False)
    with pytest.raises(ValueError, match=message):
        model.set_calibration(stats)
    assert model.calibration is None
    plain = OnnxClassifier.load(write_tone_model(tmp_path / "plain.onnx"), sandbox=False)
    assert not plain.calibratable and "no band statistics" in plain.calibration_problem
    with pytest.raises(ValueError, match="cannot be calibrated"):
        plain.set_calibration(DEFAULT)


def test_mismatched_calibration_parts_load_and_classify_but_do_not_calibrate(tmp_path):
    mismatched = OnnxClassifier.load(write_calibratable_model(tmp_path / "m.onnx", moments_bands=3), sandbox=False)
    assert not mismatched.calibratable and "band_moments" in mismatched.calibration_problem
    assert mismatched.classify(_speaker(2, 0.1)[0]).shape == (len(LABELS),)
    fixed = OnnxClassifier.load(write_calibratable_model(tmp_path / "f.onnx", with_stats=False), sandbox=False)
    assert not fixed.calibratable and "lacks 'band_stats'" in fixed.calibration_problem
    rows = OnnxClassifier.load(write_calibratable_model(tmp_path / "r.onnx", stats_rows=3), sandbox=False)
    assert not rows.calibratable and "'band_stats' [3, 4]" in rows.calibration_problem
    assert rows.classify(_speaker(2, 0.1)[0]).shape == (len(LABELS),)
    with pytest.raises(ValueError, match="r.onnx: cannot be calibrated"):
        rows.calibrate(_speaker(2, 0.1))


def test_calibrating_can_be_cancelled_and_needs_a_clip(tmp_path):
    model = OnnxClassifier.load(write_calibratable_model(tmp_path / "cal.onnx"), sandbox=False)
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        model.calibrate(_speaker(5, 0.0), cancel=cancel)
    with pytest.raises(ValueError, match="at least one clip"):
        model.calibrate([])


def test_a_model_answering_nan_moments_cannot_calibrate(tmp_path):
    path = write_calibratable_model(tmp_path / "nan.onnx", nan_moments=True)
    model = OnnxClassifier.load(path, sandbox=False)
    with pytest.raises(ModelLoadError, match="nan.onnx.*band moments"):
        model.calibrate(_speaker(3, 0.0))
    assert model.calibration is None


def _classify(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "classify", *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_classify_calibrate_normalises_to_the_files_as_one_speaker(tmp_path):
    clips = _speaker(4, offset=-0.2)
    files = []
    for i, clip in enumerate(clips):
        files.append(tmp_path / f"take{i}.wav")
        sf.write(files[-1], clip, SR, subtype="FLOAT")
    broken = tmp_path / "take2.wav"
    broken.write_bytes(b"RIFF\x00\x00not audio at all")
    model = write_calibratable_model(tmp_path / "cal.onnx")
    proc = _classify(model, *files, broken, "--calibrate", "--json")
    assert proc.returncode == 1, proc.stderr   # as classify ends when a file could not be read
    doc = json.loads(proc.stdout)
    assert doc["calibrated"] == {"files": 2, "windows": 5}
    assert "calibrated to 2 file(s) as one speaker: band statistics pooled over 5 window(s)" in proc.stderr
    assert "warning: not used for calibration:" in proc.stderr and "take2.wav" in proc.stderr
    assert "under 20 s of one speaker calibration is unreliable" in proc.stderr   # 0.07 s here
    stats = pooled_stats(clips)
    *good, bad = doc["results"]
    assert bad["path"].endswith("take2.wav") and "error" in bad
    for result, clip in zip(good, clips, strict=True):
        want = expected_probs(windows_of(clip), stats).mean(axis=0)
        np.testing.assert_allclose([result["probs"][label] for label in LABELS], want, atol=1e-5)

    plain = write_tone_model(tmp_path / "plain.onnx")
    proc = _classify(plain, *files, "--calibrate")
    assert proc.returncode == 2 and "plain.onnx" in proc.stderr and "cannot be calibrated" in proc.stderr
    assert proc.stdout == ""


def test_classify_calibrate_with_no_usable_file_or_with_segments_is_refused(tmp_path, capsys):
    model = write_calibratable_model(tmp_path / "cal.onnx")
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(N, np.float32), SR)
    args = argparse.Namespace(model=str(model), files=[str(silent)], json=False, top=3, calibrate=True)
    assert run_classify(args) == 1
    err = capsys.readouterr().err
    assert "silent.wav: not used for calibration: it is silent" in err
    assert "cal.onnx: not calibrated: none of the files named could be used" in err
    assert run_classify(argparse.Namespace(**vars(args), segments=True)) == 2
    assert "--calibrate cannot be combined with --segments" in capsys.readouterr().err
