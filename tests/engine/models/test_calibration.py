"""Calibratable models: a speaker's band statistics fed to the graph, pooled from its own audio
(the fixture model and its numpy reference: tests/helpers_calibration.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.errors import ModelLoadError
from engine.models.classifier import OnnxClassifier
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

ROOT = Path(__file__).resolve().parents[3]


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
    model = write_calibratable_model(tmp_path / "cal.onnx")
    proc = _classify(model, *files, "--calibrate", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["calibrated"] == {"files": 2} and "calibrated to 2 file(s)" in proc.stderr
    assert "0.1 s of voice" in proc.stderr and "under 20 s of one speaker's voice calibration is unreliable" in proc.stderr
    stats = pooled_stats(clips)
    for result, clip in zip(doc["results"], clips, strict=True):
        want = expected_probs(windows_of(clip), stats).mean(axis=0)
        np.testing.assert_allclose([result["probs"][label] for label in LABELS], want, atol=1e-5)

    plain = write_tone_model(tmp_path / "plain.onnx")
    proc = _classify(plain, *files, "--calibrate")
    assert proc.returncode == 2 and "plain.onnx" in proc.stderr and "cannot be calibrated" in proc.stderr
    assert proc.stdout == ""
