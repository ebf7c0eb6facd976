"""Recordings read on demand: ranges by seek, blocks by stream, min/max envelopes."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from engine.audio.io import load_audio
from engine.audio.long import LongAudio
from engine.errors import AudioLoadError


@pytest.fixture
def stereo(tmp_path):
    rng = np.random.default_rng(2)
    x = (0.3 * rng.standard_normal((5 * 8000 + 123, 2))).astype(np.float32)
    path = tmp_path / "s.wav"
    sf.write(path, x, 8000, subtype="FLOAT")
    return path, x


def test_ranges_are_read_exactly_and_clamped(stereo):
    path, x = stereo
    with LongAudio(path) as audio:
        assert audio.duration_s == pytest.approx(len(x) / 8000) and audio.channels == 2
        np.testing.assert_array_equal(audio.read(1.0, 1.5, mono=False), x[8000:12000])
        np.testing.assert_allclose(audio.read(1.0, 1.5), x[8000:12000].mean(axis=1), rtol=1e-6)
        assert len(audio.read(4.9, 99.0)) == len(x) - int(4.9 * 8000)
        assert audio.read(99.0, 100.0).size == 0


def test_blocks_stream_the_whole_file_resampled_like_the_loader(stereo):
    path, x = stereo
    with LongAudio(path) as audio:
        same = np.concatenate(list(audio.blocks(block_s=0.7)))
        resampled = np.concatenate(list(audio.blocks(16000, block_s=0.7)))
    np.testing.assert_allclose(same, x.mean(axis=1), rtol=1e-6)
    whole = load_audio(path, 16000).samples
    assert abs(len(resampled) - len(whole)) <= 2
    n = min(len(resampled), len(whole))
    np.testing.assert_allclose(resampled[100:n - 100], whole[100:n - 100], atol=1e-3)


def test_the_exact_envelope_is_every_bins_min_and_max_and_the_sampled_one_is_inside(stereo):
    path, x = stereo
    mono = x.mean(axis=1)
    with LongAudio(path) as audio:
        env = audio.overview(37)
        sampled = audio.overview(37, sampled=True, probe_frames=256)
        part = audio.overview(10, start_s=1.0, end_s=2.0)
    edges = np.linspace(0, len(mono), 38).round().astype(int)
    bins = [mono[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]
    np.testing.assert_allclose(env.mins, [b.min() for b in bins], rtol=1e-6)
    np.testing.assert_allclose(env.maxs, [b.max() for b in bins], rtol=1e-6)
    assert np.all(sampled.mins >= env.mins - 1e-6) and np.all(sampled.maxs <= env.maxs + 1e-6)
    assert part.times_s[0] == 1.0 and part.bin_s == pytest.approx(0.1)
    assert part.maxs[0] == pytest.approx(mono[8000:8800].max(), rel=1e-6)


def test_unreadable_files_name_the_file(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(AudioLoadError, match="bad.wav"):
        LongAudio(bad)
