"""The feature cache decodes each clip once, memory-maps float16 log-mels and is reused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import trainer.data.cache as cache_module
import trainer.data.prepare as prepare_module
from engine.datasets.manifest import read_manifest
from engine.datasets.synth import write_esc50
from engine.jobs import Cancelled, CancelToken, Progress
from trainer.data.cache import CacheError, FeatureCache, FrontendConfig
from trainer.models.frontend import LogMel

CONFIG = FrontendConfig(sample_rate_hz=8000, clip_s=0.5, n_mels=16, n_fft=256)


@pytest.fixture
def manifest(tmp_path):
    write_esc50(tmp_path / "esc", n_classes=2, clips_per_class=4, seconds=0.5, sample_rate_hz=8000)
    return read_manifest(tmp_path / "esc")


@pytest.fixture
def count_decodes(monkeypatch):
    calls = []
    real = prepare_module.load_audio

    def counting(path, *a, **kw):
        calls.append(str(path))
        return real(path, *a, **kw)

    monkeypatch.setattr(prepare_module, "load_audio", counting)
    return calls


def test_build_writes_a_memory_mapped_float16_cache(manifest, tmp_path, count_decodes):
    cache = FeatureCache.build(manifest, frontend_config=CONFIG, variants=["gain", "noise"],
                               out_dir=tmp_path / "cache", workers=1)
    n_clips = len(manifest.clips)
    assert not cache.reused and len(count_decodes) == n_clips            # each clip decoded once
    assert len(cache.items) == 3 * n_clips
    features = cache.features()
    assert isinstance(features, np.memmap) and features.dtype == np.float16
    n_frames = LogMel(8000, n_fft=256, n_mels=16).n_frames(4000)
    assert features.shape == (3 * n_clips, 16, n_frames)
    # the cached original equals the frontend applied to the decoded clip (float16 rounding)
    from engine.audio.io import fit_length, load_audio

    first = cache.items[0]
    wave = fit_length(load_audio(first.path, 8000).samples, 4000)
    expected = LogMel(8000, n_fft=256, n_mels=16)(torch.from_numpy(wave)[None])[0, 0].numpy()
    np.testing.assert_allclose(features[first.item].astype(np.float32), expected, atol=0.06)
    # variants keep their source's group and path, and differ from it
    by_variant = {it.variant: it for it in cache.items if it.clip_index == first.clip_index}
    assert set(by_variant) == {"original", "gain", "noise"}
    assert {(it.group, it.path, it.label_index) for it in by_variant.values()} == \
        {(first.group, first.path, first.label_index)}
    assert not np.array_equal(features[by_variant["noise"].item], features[first.item])


def test_a_second_build_reuses_the_cache_without_decoding(manifest, tmp_path, count_decodes):
    kwargs = {"frontend_config": CONFIG, "variants": ["gain"], "out_dir": tmp_path / "cache", "workers": 1}
    first = FeatureCache.build(manifest, **kwargs)
    count_decodes.clear()
    second = FeatureCache.build(manifest, **kwargs)
    assert second.reused and count_decodes == []
    assert second.folder == first.folder and second.items == first.items
    changed = FeatureCache.build(manifest, **{**kwargs, "frontend_config": FrontendConfig(8000, 0.5, n_mels=8,
                                                                                          n_fft=256)})
    assert not changed.reused and changed.folder != first.folder and len(count_decodes) == len(manifest.clips)


def test_dataset_reads_rows_from_the_memmap(manifest, tmp_path):
    cache = FeatureCache.build(manifest, frontend_config=CONFIG, out_dir=tmp_path / "cache", workers=1)
    dataset = cache.dataset(cache.items[2:5])
    assert len(dataset) == 3
    x, label, item = dataset[1]
    assert x.dtype == torch.float32 and x.shape == (1, 16, cache.features().shape[2])
    assert item == cache.items[3].item and label == cache.items[3].label_index
    assert dataset._features is not None and isinstance(dataset._features, np.memmap)
    loader = torch.utils.data.DataLoader(dataset, batch_size=2)
    xb, yb, ib = next(iter(loader))
    assert xb.shape[0] == 2 and yb.dtype == torch.int64


def test_parallel_workers_give_the_same_features(manifest, tmp_path):
    one = FeatureCache.build(manifest, frontend_config=CONFIG, variants=["gain", "noise"],
                             out_dir=tmp_path / "a", workers=1)
    cache_module.CHUNK_CLIPS, old = 2, cache_module.CHUNK_CLIPS
    try:
        two = FeatureCache.build(manifest, frontend_config=CONFIG, variants=["gain", "noise"],
                                 out_dir=tmp_path / "b", workers=2)
    finally:
        cache_module.CHUNK_CLIPS = old
    assert one.items == two.items
    np.testing.assert_array_equal(np.asarray(one.features()), np.asarray(two.features()))


def test_a_corrupt_clip_is_skipped_and_named(manifest, tmp_path):
    bad = manifest.clips[1].path
    bad.write_bytes(b"RIFF....WAVEfmt garbage")
    progress = []
    cache = FeatureCache.build(manifest, frontend_config=CONFIG, out_dir=tmp_path / "cache", workers=1,
                               on_progress=progress.append)
    assert [p for p, _ in cache.skipped] == [str(bad)]
    assert str(bad) in cache.skipped[0][1]
    assert 1 not in {it.clip_index for it in cache.items} and len(cache.items) == len(manifest.clips) - 1
    assert all(isinstance(p, Progress) and p.stage == "cache" for p in progress)
    assert (progress[-1].step, progress[-1].total) == (len(manifest.clips), len(manifest.clips))


def test_nothing_readable_is_an_error(manifest, tmp_path):
    for clip in manifest.clips:
        clip.path.write_bytes(b"not audio")
    with pytest.raises(CacheError, match="none of the"):
        FeatureCache.build(manifest, frontend_config=CONFIG, out_dir=tmp_path / "cache", workers=1)
    assert not any((tmp_path / "cache").iterdir())          # no half-written cache left


def test_cancel_stops_the_build_and_leaves_no_cache(manifest, tmp_path):
    token = CancelToken()
    cache_module.CHUNK_CLIPS, old = 2, cache_module.CHUNK_CLIPS
    try:
        with pytest.raises(Cancelled):
            FeatureCache.build(manifest, frontend_config=CONFIG, out_dir=tmp_path / "cache", workers=1,
                               cancel=token, on_progress=lambda p: token.cancel())
    finally:
        cache_module.CHUNK_CLIPS = old
    assert not any((tmp_path / "cache").iterdir())


def test_unknown_variant_is_refused(manifest, tmp_path):
    with pytest.raises(ValueError, match="wobble"):
        FeatureCache.build(manifest, frontend_config=CONFIG, variants=["wobble"], out_dir=tmp_path, workers=1)
