"""The optional ``embedding`` output of the model-file contract, and the fallback embedding."""

from __future__ import annotations

import numpy as np
import pytest

from engine.models.classifier import OnnxClassifier
from engine.models.embedding import band_statistics
from tests.helpers_onnx import TONES_HZ, write_tone_model

SR = 8000


def _tone(freq_hz: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.5 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def test_a_model_with_an_embedding_output_answers_it_with_its_probabilities(tmp_path):
    model = OnnxClassifier.load(write_tone_model(tmp_path / "m.onnx", sample_rate_hz=SR, with_embedding=True),
                                sandbox=False)
    assert model.embedding_dim == len(TONES_HZ) and model.embedding_problem == ""
    batch = np.stack([_tone(300), _tone(2000)])
    probs, vectors = model.predict_and_embed(batch)
    np.testing.assert_allclose(probs, model.predict(batch), atol=1e-6)
    assert vectors.shape == (2, len(TONES_HZ)) and vectors.dtype == np.float32
    assert np.argmax(vectors[0]) == TONES_HZ.index(300) and np.argmax(vectors[1]) == TONES_HZ.index(2000)
    np.testing.assert_array_equal(model.embed(batch), vectors)
    many = np.repeat(batch, 20, axis=0)                      # over one session batch: run in parts
    assert model.embed(many).shape == (40, len(TONES_HZ))


def test_an_older_model_without_embedding_loads_classifies_and_says_why(tmp_path):
    model = OnnxClassifier.load(write_tone_model(tmp_path / "m.onnx", sample_rate_hz=SR), sandbox=False)
    assert model.embedding_dim is None and "no 'embedding' output" in model.embedding_problem
    assert model.predict(_tone(300)[None]).shape == (1, len(TONES_HZ))
    with pytest.raises(ValueError, match="no 'embedding' output"):
        model.embed(_tone(300)[None])


def test_the_fallback_embedding_is_band_means_then_deviations():
    quiet, loud, high = _tone(300) * 0.01, _tone(300), _tone(3000)
    stats = band_statistics(np.stack([quiet, loud, high]), SR, n_mels=32)
    assert stats.shape == (3, 64) and stats.dtype == np.float32 and np.isfinite(stats).all()
    means = stats[:, :32]
    assert np.argmax(means[1]) < np.argmax(means[2])         # the 3 kHz tone peaks in a higher band
    peak = int(np.argmax(means[1]))
    assert means[1, peak] - means[0, peak] == pytest.approx(40.0, abs=0.5)   # 40 dB louder at its band
    assert (stats[:, 32:] >= 0).all()
