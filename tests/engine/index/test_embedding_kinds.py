"""The index's embedding kinds: model+bands (the default), the model's own, band statistics."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from engine.index.build import IndexRequest, index_job
from engine.index.fewshot import default_c, fit_examples
from engine.index.search import Index, example_windows, similar
from engine.index.store import IndexStore
from engine.models.classifier import OnnxClassifier
from engine.models.embedding import FALLBACK_N_MELS, PROFILE_STATISTICS, band_profile, join_parts
from tests.engine.index.helpers import (
    BURST_S,
    LOW_AT_S,
    NAMES,
    SR,
    shift_s,
    windows_per_recording,
    write_folder,
    write_model,
)

PER_FILE = windows_per_recording()
PROFILE_DIM = PROFILE_STATISTICS * FALLBACK_N_MELS


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kinds")
    root, model = write_folder(tmp / "recordings"), write_model(tmp / "tones.onnx")
    index_job(IndexRequest(root, model, out=tmp / "idx"))
    return root, model, tmp


def _windows(path, starts_s, window_s=0.5):
    import soundfile as sf

    samples, _ = sf.read(path, dtype="float32")
    n = int(window_s * SR)
    return np.stack([samples[int(round(s * SR)):int(round(s * SR)) + n] for s in starts_s])


def test_auto_joins_the_model_embedding_and_the_band_profile_of_the_same_windows(made):
    root, model, tmp = made
    store = IndexStore.open(tmp / "idx")
    assert store.meta["embedding"] == "model+bands" and store.meta["dim"] == 5 + PROFILE_DIM
    index = Index(tmp / "idx")
    first = index._ranges["r1.wav"][0]
    vectors = np.asarray(index.vectors[first:first + PER_FILE], dtype=np.float32)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=2e-3)
    # each part weighs the same: half the squared length each
    np.testing.assert_allclose(np.linalg.norm(vectors[:, :5], axis=1), 0.5 ** 0.5, atol=2e-3)
    windows = _windows(root / "r1.wav", np.asarray(index.starts[first:first + PER_FILE]))
    classifier = OnnxClassifier.load(model)
    want = join_parts(classifier.embed(windows), band_profile(windows, SR))
    np.testing.assert_allclose(vectors, want, atol=2e-3)
    probs = np.asarray(index.probs[first:first + PER_FILE], dtype=np.float32)
    np.testing.assert_allclose(probs, classifier.predict(windows), atol=2e-3)


def test_the_band_profile_holds_seven_statistics_per_band_and_a_short_sound_moves_its_maximum():
    rng = np.random.default_rng(0)
    quiet = (0.01 * rng.standard_normal((1, SR))).astype(np.float32)
    click = quiet.copy()
    click[0, 4000:4200] += np.sin(2 * np.pi * 1000 * np.arange(200) / SR).astype(np.float32)
    profile = band_profile(np.vstack([quiet, click]), SR)
    assert profile.shape == (2, PROFILE_DIM) and profile.dtype == np.float32
    mean, std, p10, p50, p90, peak, change = profile.reshape(2, PROFILE_STATISTICS, FALLBACK_N_MELS).transpose(1, 0, 2)
    assert (p10 <= p50 + 1e-4).all() and (p50 <= p90 + 1e-4).all() and (p90 <= peak + 1e-4).all()
    assert (std >= 0).all() and (change >= 0).all()
    band = int(np.argmax(peak[1] - peak[0]))
    assert peak[1, band] - peak[0, band] > 20                         # the click: tens of dB at the top
    assert abs(p50[1, band] - p50[0, band]) < 3                       # the median hardly moves


def test_resuming_an_index_made_with_the_model_embedding_alone_keeps_its_kind(made, tmp_path):
    root, model, _ = made
    first = index_job(IndexRequest(root, model, out=tmp_path / "idx", embedding="model"))
    assert IndexStore.open(first.out).meta["embedding"] == "model"
    again = index_job(IndexRequest(root, model, out=tmp_path / "idx"))            # auto: resumed as it was
    assert (again.skipped, again.windows_embedded) == (len(NAMES), 0)
    index = Index(again.out)
    assert index.meta["embedding"] == "model" and index.vectors.shape[1] == 5 and default_c(index) == 10.0


def test_an_example_outside_the_index_is_embedded_as_the_index_embeds(made, tmp_path):
    root, model, tmp = made
    index = Index(tmp / "idx")
    outside = tmp_path / "copy.wav"
    shutil.copy(root / "r1.wav", outside)
    start = LOW_AT_S + shift_s(1)
    inside = example_windows(index, [("r1.wav", start, start + BURST_S)])[0]
    embedded = example_windows(index, [(str(outside), start, start + BURST_S)])[0]
    assert embedded.shape[1] == index.vectors.shape[1] == 5 + PROFILE_DIM
    assert np.max(embedded @ inside.T) > 0.99                          # the same window, embedded now


def test_the_fitted_scorer_on_model_and_bands_finds_the_other_bursts(made):
    _, _, tmp = made
    index = Index(tmp / "idx")
    assert default_c(index) == 3.0
    examples = [(name, LOW_AT_S + shift_s(i), LOW_AT_S + shift_s(i) + BURST_S) for i, name in enumerate(NAMES[:3])]
    hits = similar(index, fit_examples(index, examples).query, top=3, exclude=examples)
    assert sorted(h.recording for h in hits) == sorted(NAMES[3:])
    assert all(h.label == "tone_300hz" for h in hits)
