"""The spectrogram settings the File, Annotate and Audit tabs share (issue 27): FFT size, window, overlap."""

from __future__ import annotations

import numpy as np
import pytest

from engine.audio.spectrogram import (
    FFT_SIZES,
    OVERLAPS,
    WINDOWS,
    SpectrogramSettings,
    spectrogram_db,
    spectrogram_with,
)
from tests.conftest import sine


def _hann_before(samples, rate, n_fft, hop):
    """The spectrogram as it was computed before windows could be chosen (periodic Hann)."""
    x = np.asarray(samples, dtype=np.float32)
    padded = np.pad(x, (n_fft // 2, n_fft // 2))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:1 + (padded.size - n_fft) // hop]
    win = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    win = win / win.sum() * 2.0
    spectrum = np.abs(np.fft.rfft(frames * win, axis=-1))
    return np.maximum(20.0 * np.log10(spectrum + 1e-12), -120.0).astype(np.float32)


def test_the_default_window_gives_bit_identical_output_to_before():
    x = sine(440, 0.5) + 0.01 * np.random.default_rng(0).standard_normal(8000).astype(np.float32)
    for n_fft, hop in ((512, None), (1024, 256), (256, 32)):
        ours = spectrogram_db(x, 16000, n_fft=n_fft, hop_length=hop).db
        assert np.array_equal(ours, _hann_before(x, 16000, n_fft, hop or n_fft // 4))
    default = SpectrogramSettings()
    assert (default.n_fft, default.window, default.overlap, default.hop_length()) == (1024, "hann", 0.75, 256)
    assert np.array_equal(spectrogram_with(x, 16000, default).db, _hann_before(x, 16000, 1024, 256))


def test_each_window_gives_its_own_image_and_a_full_scale_sine_reads_about_0_db():
    x = sine(1000, 0.5, 16000, amplitude=1.0)
    peak = float(np.abs(x).max())
    images = {}
    for window in WINDOWS:
        spec = spectrogram_with(x, 16000, SpectrogramSettings(512, window, 0.75))
        images[window] = spec.db
        middle = spec.db[spec.db.shape[0] // 2]
        assert spec.freqs_hz[middle.argmax()] == pytest.approx(1000, abs=32)
        assert middle.max() == pytest.approx(20 * np.log10(peak), abs=1.6)   # scaled alike, whatever the shape
    assert not np.array_equal(images["hann"], images["hamming"])
    assert not np.array_equal(images["hann"], images["blackman"])
    assert not np.array_equal(images["hamming"], images["blackman"])


def test_fft_size_sets_the_bins_and_overlap_the_hop():
    x = sine(440, 1.0)
    for n_fft in FFT_SIZES:
        assert spectrogram_with(x, 16000, SpectrogramSettings(n_fft, "hann", 0.5)).db.shape[1] == n_fft // 2 + 1
    hops = [SpectrogramSettings(1024, "hann", o).hop_length() for o in OVERLAPS]
    assert hops == [512, 256, 128]
    columns = [spectrogram_with(x, 16000, SpectrogramSettings(1024, "hann", o)).db.shape[0] for o in OVERLAPS]
    assert columns == [1 + 16000 // 512, 1 + 16000 // 256, 1 + 16000 // 128]
    capped = spectrogram_with(x, 16000, SpectrogramSettings(256, "hann", 0.875), max_columns=100)
    assert capped.db.shape[0] <= 101                                     # a long clip stays drawable


@pytest.mark.parametrize("kwargs, words", [
    ({"n_fft": 1000}, "FFT size 1000"),
    ({"n_fft": 8192}, "FFT size 8192"),
    ({"window": "kaiser"}, "window 'kaiser'"),
    ({"overlap": 0.9}, "overlap 0.9"),
    ({"overlap": 1.0}, "overlap 1.0"),
])
def test_bad_values_are_refused_saying_what_is_allowed(kwargs, words):
    with pytest.raises(ValueError, match=words) as refused:
        SpectrogramSettings(**kwargs)
    assert "is not one of" in str(refused.value)


def test_an_unknown_window_name_is_refused_by_spectrogram_db_too():
    with pytest.raises(ValueError, match="window 'boxcar'"):
        spectrogram_db(sine(440, 0.1), 16000, window="boxcar")


def test_a_long_recordings_range_takes_the_window_and_shares_frames_closer_than_the_hop(tmp_path):
    import soundfile as sf

    from engine.audio.long import LongAudio
    from engine.audio.ranges import compute_range

    x = sine(1000, 4.0) + 0.01 * np.random.default_rng(1).standard_normal(64000).astype(np.float32)
    sf.write(tmp_path / "r.wav", x, 16000)
    with LongAudio(tmp_path / "r.wav") as audio:
        every_column = compute_range(audio, 1.0, 1.5, 1000, n_fft=1024)          # 8 samples a column
        hann = compute_range(audio, 1.0, 1.5, 1000, n_fft=1024, window="hann", hop_length=256)
        blackman = compute_range(audio, 1.0, 1.5, 1000, n_fft=1024, window="blackman", hop_length=256)
    assert np.unique(every_column.db, axis=0).shape[0] > 900                # a frame of its own each
    assert abs(np.unique(hann.db, axis=0).shape[0] - 8000 / 256) <= 2       # one frame every 256 samples
    assert hann.db.shape == blackman.db.shape == (1000, 513) and blackman.window == "blackman"
    assert not np.array_equal(hann.db, blackman.db)
