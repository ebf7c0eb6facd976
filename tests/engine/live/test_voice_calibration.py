"""Live calibration to the voice: uncalibrated until 20 s of it were heard, then its statistics."""

from __future__ import annotations

import numpy as np
import pytest

from engine.live.stream import StreamingClassifier
from engine.live.voice_calibration import VoiceCalibration
from engine.models.classifier import OnnxClassifier
from tests.helpers_calibration import DEFAULT, SR, N, expected_probs, write_calibratable_model
from tests.helpers_onnx import write_tone_model

CLIP_S = N / SR        # 0.05 s windows


def test_the_stream_calibrates_after_enough_of_the_voice_and_counts_each_window_once(tmp_path):
    model = OnnxClassifier.load(write_calibratable_model(tmp_path / "m.onnx"), sandbox=False)
    hop_s = CLIP_S / 2                           # overlapping windows: every other one is new audio
    stream = StreamingClassifier(model, hop_s=hop_s, smoothing=1, silence_dbfs=-100, calibrate=True)
    calibration = stream.calibration
    assert calibration is not None and calibration.min_s == 20.0
    rng = np.random.default_rng(3)
    voice = (0.35 + 0.2 * rng.standard_normal(int(25 * SR))).astype(np.float32)
    hop = int(hop_s * SR)
    counted, results = [], []
    for start in range(0, len(voice) - N + 1, hop):
        window = voice[start : start + N]
        results.append((window, stream.process(window)))
        counted.append(calibration.heard_s)
    first_calibrated = next(i for i, h in enumerate(counted) if h >= 20.0)
    # one window in two was pooled: 20 s of voice heard after about 20 s of hops of 25 ms
    assert first_calibrated == round((20.0 - CLIP_S) / hop_s)
    window, before = results[first_calibrated - 2]
    np.testing.assert_allclose(before.probs, expected_probs(window, DEFAULT)[0], atol=1e-5)
    assert "calibrating to the voice" in before.calibration
    pooled = np.stack([results[i][0] for i in range(0, first_calibrated + 1, 2)])
    x = pooled.reshape(-1, 4, N // 4).astype(np.float64)
    stats = np.stack([x.mean(axis=(0, 2)), x.transpose(1, 0, 2).reshape(4, -1).std(axis=1) + 1e-3])
    window, after = results[first_calibrated]
    np.testing.assert_allclose(after.probs, expected_probs(window, stats)[0], atol=1e-4)
    assert np.abs(after.probs - expected_probs(window, DEFAULT)[0]).max() > 0.01
    assert after.calibration.startswith("calibrated to the voice (20 s of voice heard)")
    assert model.calibration is None             # the shared model itself is never changed


def test_silence_is_not_pooled_and_a_plain_model_is_not_calibrated(tmp_path):
    model = OnnxClassifier.load(write_calibratable_model(tmp_path / "m.onnx"), sandbox=False)
    stream = StreamingClassifier(model, hop_s=CLIP_S, silence_dbfs=-40, calibrate=True)
    assert stream.process(np.zeros(N, np.float32)).silent and stream.calibration.heard_s == 0.0
    plain = OnnxClassifier.load(write_tone_model(tmp_path / "plain.onnx"), sandbox=False)
    assert StreamingClassifier(plain, calibrate=True).calibration is None
    with pytest.raises(ValueError, match="cannot be calibrated"):
        VoiceCalibration(plain)
