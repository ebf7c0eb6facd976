"""A view's range at screen resolution: the spectrogram follows the zoom, the work does not grow with the file."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from engine.audio.long import LongAudio
from engine.audio.ranges import compute_range
from tests.conftest import sine


def test_zooming_in_recomputes_the_spectrogram_at_screen_resolution(tmp_path):
    sr = 16000
    x = np.zeros(60 * sr, dtype=np.float32)
    x[30 * sr:31 * sr] = sine(1000, 1.0, sr)  # one second of 1 kHz in a silent minute
    x[30 * sr + sr // 2:31 * sr] = sine(3000, 0.5, sr)  # whose second half is 3 kHz
    sf.write(tmp_path / "m.wav", x, sr)
    with LongAudio(tmp_path / "m.wav") as audio:
        whole = compute_range(audio, 0, 60, 600, n_fft=512)
        second = compute_range(audio, 30, 31, 600, n_fft=512)
    freqs = whole.freqs_hz()
    assert whole.db.shape == (600, 257) and whole.column_s == 0.1 and not whole.exact
    loud = np.flatnonzero(whole.db.max(axis=1) > -30)
    assert set(loud) <= set(range(299, 311)) and len(loud) >= 8  # only the columns of 30..31 s
    assert second.db.shape == (600, 257) and abs(second.column_s - 1 / 600) < 1e-9 and second.exact
    first_half, second_half = second.db[50:250], second.db[350:550]
    assert np.all(np.abs(freqs[first_half.argmax(axis=1)] - 1000) < 40)
    assert np.all(np.abs(freqs[second_half.argmax(axis=1)] - 3000) < 40)
    # the whole-minute view cannot tell the halves apart in time; the zoomed view can
    assert np.abs(second.maxs[300:]).max() > 0.4 and np.abs(whole.maxs[:290]).max() == 0.0


def test_a_range_past_the_end_is_clamped_and_short_ranges_have_one_frame_per_column(tmp_path):
    sf.write(tmp_path / "s.wav", sine(500, 0.05, 8000), 8000)
    with LongAudio(tmp_path / "s.wav") as audio:
        data = compute_range(audio, -1.0, 9.0, 1000, n_fft=256)
    assert data.start_s == 0.0 and abs(data.end_s - 0.05) < 1e-9
    assert data.db.shape == (1000, 129) and data.mins.shape == (1000,) and data.exact


def test_mel_rows_keep_a_narrow_high_tone_and_interpolate_low_rows():
    from engine.audio.mel import hz_to_mel
    from engine.audio.ranges import mel_rows

    db = np.full((4, 513), -100.0, dtype=np.float32)
    db[:, 400] = 0.0  # one bin at 400/512 of 22.05 kHz: many bins share a mel row up there
    rows, freqs = mel_rows(db, 22050.0, 128)
    assert rows.shape == (4, 128) and freqs[0] == 0.0 and abs(freqs[-1] - 22050.0) < 1e-6
    hit = int(np.argmax(rows[0]))
    assert rows[0, hit] == 0.0 and abs(freqs[hit] - 400 / 512 * 22050) < (freqs[hit] - freqs[hit - 1])
    assert np.allclose(np.diff(hz_to_mel(freqs)), hz_to_mel(22050.0) / 127)
