"""With no option changed, the model sees (nearly) all of every clip: the window comes from the
clips' length distribution, short clips are padded and long ones cut into windows whose
predictions are averaged, exactly as ``classify`` cuts and averages them."""

from __future__ import annotations

import numpy as np
import pytest

from engine.audio.io import window_starts
from engine.datasets.manifest import read_manifest
from engine.datasets.synth import write_esc50
from trainer.data.cache import ORIGINAL, FeatureCache
from trainer.recipe import TrainRequest
from trainer.run.resolve import frontend_config, resolve


def coverage(cache: FeatureCache, n_samples: int) -> dict[int, float]:
    """Per clip: the share of its decoded samples inside some window the model trains on."""
    seen: dict[int, np.ndarray] = {}
    for it in cache.items:
        if it.variant != ORIGINAL:
            continue
        mask = seen.setdefault(it.clip_index, np.zeros(it.clip_samples, dtype=bool))
        mask[it.start : it.start + n_samples] = True
    return {clip: float(mask.mean()) for clip, mask in seen.items()}


def variable_length_set(root, write_wav, rng) -> list[float]:
    """Clips of 0.2-3 s in two classes, as folders (each file its own group)."""
    from tests.conftest import sine

    lengths = []
    for i in range(40):
        seconds = float(rng.uniform(0.2, 3.0))
        label = "ab"[i % 2]
        write_wav(f"{root}/{label}/clip{i:02d}.wav", sine(300 + 300 * (i % 2), seconds, 8000), 8000)
        lengths.append(seconds)
    return lengths


def test_variable_length_clips_are_seen_whole(tmp_path, write_wav):
    lengths = variable_length_set("var", write_wav, np.random.default_rng(0))
    manifest = read_manifest(tmp_path / "var")
    request = resolve(TrainRequest(data=str(tmp_path / "var"), out=str(tmp_path / "run"), n_mels=16), manifest)
    assert request.clip_s >= np.quantile(lengths, 0.9)     # not the median: most clips fit in one window
    frontend = frontend_config(request)
    cache = FeatureCache.build(manifest, frontend_config=frontend, out_dir=tmp_path / "cache", workers=1)
    kept = coverage(cache, frontend.n_samples)
    assert len(kept) == len(manifest.clips) and min(kept.values()) >= 0.9, sorted(kept.values())[:3]
    assert request.clip_s <= max(lengths) + 0.1             # and no longer than the longest needs


def test_five_second_esc50_clips_are_one_whole_window(tmp_path):
    write_esc50(tmp_path / "esc", n_classes=2, clips_per_class=4, seconds=5.0, sample_rate_hz=8000)
    manifest = read_manifest(tmp_path / "esc")
    request = resolve(TrainRequest(data=str(tmp_path / "esc"), out=str(tmp_path / "run"), n_mels=16), manifest)
    assert request.clip_s == 5.0
    frontend = frontend_config(request)
    cache = FeatureCache.build(manifest, frontend_config=frontend, out_dir=tmp_path / "cache", workers=1)
    assert min(coverage(cache, frontend.n_samples).values()) >= 0.99
    assert {it.window for it in cache.items} == {0}


def test_long_clips_are_cut_into_windows_covering_the_end(tmp_path, write_wav):
    """Clips far longer than most: windows every half window, the last ending at the clip's end."""
    from tests.conftest import sine

    for i in range(20):
        seconds = 12.0 if i < 2 else 1.0
        write_wav(f"long/{'ab'[i % 2]}/c{i:02d}.wav", sine(400 + 200 * (i % 2), seconds, 8000), 8000)
    manifest = read_manifest(tmp_path / "long")
    request = resolve(TrainRequest(data=str(tmp_path / "long"), out=str(tmp_path / "run"), n_mels=16), manifest)
    frontend = frontend_config(request)
    cache = FeatureCache.build(manifest, frontend_config=frontend, out_dir=tmp_path / "cache", workers=1)
    kept = coverage(cache, frontend.n_samples)
    assert min(kept.values()) == pytest.approx(1.0)
    longest = max(cache.items, key=lambda it: it.clip_samples)
    starts = sorted(it.start for it in cache.items if it.clip_index == longest.clip_index)
    assert starts == window_starts(longest.clip_samples, frontend.n_samples, frontend.n_samples // 2)
    assert starts[-1] + frontend.n_samples == longest.clip_samples
