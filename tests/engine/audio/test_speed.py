"""Playback speed: slower or faster with the pitch kept (WSOLA) or dropped like a tape (resampling)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.audio.speed import change_speed
from tests.conftest import sine

SR = 16000


def _peak_hz(x):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return np.fft.rfftfreq(x.size, 1 / SR)[int(np.argmax(spectrum))]


@pytest.mark.parametrize("speed", [0.25, 0.5, 1.5, 2.0])
def test_the_pitch_is_kept_or_dropped_and_the_length_follows_the_speed(speed):
    x = sine(440, 2.0, SR)
    kept = change_speed(x, SR, speed, keep_pitch=True)
    dropped = change_speed(x, SR, speed, keep_pitch=False)
    for y in (kept, dropped):
        assert abs(y.size - x.size / speed) <= 2 + 0.002 * x.size and y.dtype == np.float32
    assert abs(_peak_hz(kept) - 440) < 8
    assert abs(_peak_hz(dropped) - 440 * speed) < 8
    middle = kept[kept.size // 4: 3 * kept.size // 4]
    assert 0.6 < np.sqrt(np.mean(middle ** 2)) / np.sqrt(np.mean(x ** 2)) < 1.4   # no dips or swells


def test_normal_speed_is_the_audio_itself_and_other_speeds_are_refused():
    x = sine(300, 0.5, SR)
    assert np.array_equal(change_speed(x, SR, 1.0, keep_pitch=True), x)
    with pytest.raises(ValueError, match="between 0.25 and 4"):
        change_speed(x, SR, 0.1, keep_pitch=False)
