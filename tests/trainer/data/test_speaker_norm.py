"""Per-speaker band normalisation: statistics from each speaker's own clips, a calibratable export."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from engine.datasets.manifest import read_manifest
from engine.datasets.synth import write_emodb
from engine.models.calibration import MOMENTS_NAME, STATS_NAME, BandMoments
from engine.models.metadata import build_metadata
from trainer.data.cache import ORIGINAL, FeatureCache
from trainer.data.speaker_norm import default_stats, speaker_stats
from trainer.models import create_model
from trainer.models.frontend import BandNorm, Classifier, LogMel, WaveformModel, band_moments
from trainer.recipe import TrainRequest
from trainer.run.export import export_onnx
from trainer.run.resolve import frontend_config, resolve

SR = 8000
N_SAMPLES = 4000
N_MELS = 32
LABELS = ["calm", "loud", "sad"]


def _clips(n: int, seed: int = 0, gain: float = 0.4) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    t = np.arange(N_SAMPLES) / SR
    freqs = rng.uniform(100, 3500, size=n)
    clips = gain * np.sin(2 * np.pi * freqs[:, None] * t) + 0.05 * rng.standard_normal((n, N_SAMPLES))
    return torch.from_numpy(clips.astype(np.float32))


def _model(default: np.ndarray) -> WaveformModel:
    torch.manual_seed(0)
    classifier = Classifier(create_model("cnn", num_classes=len(LABELS)), 1, (N_MELS, 32), standardise=False)
    return WaveformModel(LogMel(SR, n_fft=256, hop_length=64, n_mels=N_MELS), classifier,
                         BandNorm(torch.from_numpy(default))).eval()


def _stats_of(model: WaveformModel, clips: torch.Tensor) -> np.ndarray:
    pooled = BandMoments(N_MELS)
    with torch.no_grad():
        pooled.add(band_moments(model.frontend(clips)).numpy())
    return pooled.stats()


def test_a_band_normalised_model_exports_calibratable_and_matches_pytorch(tmp_path):
    default = np.stack([np.full(N_MELS, -40.0), np.full(N_MELS, 12.0)]).astype(np.float32)
    model, path = _model(default), tmp_path / "model.onnx"
    meta = build_metadata(labels=LABELS, sample_rate_hz=SR, clip_s=N_SAMPLES / SR, architecture="cnn")
    export_onnx(model, path, metadata=meta, example=_clips(4))

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["waveform"]       # the contract's one input stays
    assert [(i.name, i.shape) for i in session.get_overridable_initializers()] == [(STATS_NAME, [2, N_MELS])]
    assert [o.name for o in session.get_outputs()] == ["probs", MOMENTS_NAME, "embedding"]

    clips = _clips(6, seed=3, gain=0.05)            # a quiet speaker, unlike the default
    speaker = _stats_of(model, clips)
    with torch.no_grad():
        torch_default = model(clips).numpy()
        torch_fed = model(clips, torch.from_numpy(speaker)).numpy()
        torch_moments = band_moments(model.frontend(clips)).numpy()
    probs, moments, _ = session.run(None, {"waveform": clips.numpy()})
    np.testing.assert_allclose(probs, torch_default, atol=1e-4)
    np.testing.assert_allclose(moments, torch_moments, rtol=1e-4, atol=1e-2)
    fed = session.run(["probs"], {"waveform": clips.numpy(), STATS_NAME: speaker})[0]
    np.testing.assert_allclose(fed, torch_fed, atol=1e-4)
    assert np.abs(fed - probs).max() > 1e-3        # the statistics fed are what the model used


def test_speaker_statistics_pool_each_speakers_original_windows(tmp_path):
    data = write_emodb(tmp_path / "emo", n_speakers=3, sentences_per_speaker=2, seconds=0.5,
                       sample_rate_hz=SR, seed=2)
    manifest = read_manifest(data)
    config = resolve(TrainRequest(data=str(data), out=str(tmp_path / "run"), n_mels=N_MELS), manifest)
    cache = FeatureCache.build(manifest, frontend_config=frontend_config(config), variants=("gain",),
                               out_dir=tmp_path / "cache", workers=1)
    stats = speaker_stats(cache, manifest)
    assert sorted(stats) == sorted({c.speaker for c in manifest.clips})
    features = cache.features()
    for speaker, got in stats.items():
        rows = [it.item for it in cache.items if it.variant == ORIGINAL
                and manifest.clips[it.clip_index].speaker == speaker]
        x = np.asarray(features[rows], dtype=np.float64)          # [windows, n_mels, frames]
        want_mean = x.mean(axis=(0, 2))
        want_std = x.transpose(1, 0, 2).reshape(N_MELS, -1).std(axis=1) + 1e-3
        np.testing.assert_allclose(got[0], want_mean, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(got[1], want_std, rtol=1e-4, atol=1e-4)
    two = sorted(stats)[:2]
    np.testing.assert_allclose(default_stats(stats, two), (stats[two[0]] + stats[two[1]]) / 2, rtol=1e-6)


def _csv(folder, rows, header):
    path = folder / "clips.csv"
    path.write_text(header + "\n" + "".join(",".join(r) + "\n" for r in rows))
    return path


def test_the_recipe_normalises_per_speaker_only_when_every_clip_names_one(tmp_path):
    data = write_emodb(tmp_path / "emo", n_speakers=3, sentences_per_speaker=1, seconds=0.3,
                       sample_rate_hz=SR, seed=1)
    emodb = read_manifest(data)
    assert resolve(TrainRequest(data=str(data), out="x"), emodb).speaker_norm is True
    assert resolve(TrainRequest(data=str(data), out="x", speaker_norm=False), emodb).speaker_norm is False
    wavs = sorted((data / "wav").iterdir())
    plain = read_manifest(_csv(data, [(f"wav/{p.name}", "ab"[i % 2], f"g{i}") for i, p in enumerate(wavs)],
                               "path,label,group"), "csv")
    assert resolve(TrainRequest(data="d", out="x"), plain).speaker_norm is False
    with pytest.raises(ValueError, match="speaker"):
        resolve(TrainRequest(data="d", out="x", speaker_norm=True), plain)
    named = read_manifest(_csv(data, [(f"wav/{p.name}", "ab"[i % 2], p.name[:2]) for i, p in enumerate(wavs)],
                               "path,label,speaker"), "csv")
    assert {c.group for c in named.clips} == {c.speaker for c in named.clips} == {p.name[:2] for p in wavs}
    assert resolve(TrainRequest(data="d", out="x"), named).speaker_norm is True
