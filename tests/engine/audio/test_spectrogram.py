import numpy as np

from engine.audio.spectrogram import StreamingSpectrogram, spectrogram_db
from tests.conftest import sine


def test_a_sine_peaks_at_its_frequency_near_0_dbfs():
    spec = spectrogram_db(sine(1000, 0.5, 16000, amplitude=1.0), 16000, n_fft=512)
    assert spec.db.shape[1] == 257
    middle = spec.db[len(spec.times_s) // 2]
    assert abs(spec.freqs_hz[np.argmax(middle)] - 1000) < 40
    assert -3.0 < middle.max() < 1.0
    assert np.isclose(spec.times_s[1] - spec.times_s[0], 128 / 16000)


def test_silence_reads_the_floor_and_tiny_clips_still_work():
    spec = spectrogram_db(np.zeros(100, dtype=np.float32), 8000, n_fft=256)
    assert spec.db.shape[0] >= 1 and np.all(spec.db <= -100)


def test_streaming_columns_match_whatever_the_block_sizes():
    x = sine(440, 1.0, 8000)
    ref = StreamingSpectrogram(8000, n_fft=256).push(x)
    stream = StreamingSpectrogram(8000, n_fft=256)
    cols = [stream.push(x[i:i + 77]) for i in range(0, len(x), 77)]
    np.testing.assert_allclose(np.concatenate(cols), ref, atol=1e-4)
    assert ref.shape == (1 + (8000 - 256) // 128, 129)
