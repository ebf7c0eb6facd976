"""Audio played slower or faster: with its pitch dropped (or raised) like a tape, or kept.

``keep_pitch=False`` resamples: at 0.5x every frequency halves, which is how bat and insect
calls above hearing are listened to ("time expansion"). ``keep_pitch=True`` stretches time
with WSOLA (waveform-similarity overlap-add): frames of ~40 ms are laid out at the new rate,
each shifted by up to a quarter frame to where it best continues the previous one (found by
FFT cross-correlation), so voices keep their pitch without a phase vocoder's smearing.
"""

from __future__ import annotations

import numpy as np

SPEEDS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
FRAME_S = 0.04


def change_speed(samples: np.ndarray, sample_rate_hz: int, speed: float, *, keep_pitch: bool) -> np.ndarray:
    """``samples`` (mono float32) played at ``speed`` (0.25-2): about ``len / speed`` samples at
    the same rate."""
    if not 0.25 <= speed <= 4.0:
        raise ValueError(f"playback speed must lie between 0.25 and 4, got {speed}")
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if speed == 1.0 or x.size == 0:
        return x
    if not keep_pitch:
        import soxr

        return soxr.resample(x, sample_rate_hz, sample_rate_hz / speed).astype(np.float32)
    return wsola(x, speed, frame=max(64, int(FRAME_S * sample_rate_hz)))


def wsola(x: np.ndarray, speed: float, frame: int) -> np.ndarray:
    """Time-stretch ``x`` by ``1 / speed`` keeping its pitch (see the module)."""
    hop = frame // 2
    tolerance = frame // 4
    n_out = int(round(x.size / speed))
    window = np.hanning(frame).astype(np.float32)
    padded = np.concatenate([np.zeros(tolerance, np.float32), x, np.zeros(frame + 2 * tolerance + hop, np.float32)])
    out = np.zeros(n_out + frame, dtype=np.float32)
    weight = np.zeros(n_out + frame, dtype=np.float32)
    n_fft = 1 << int(np.ceil(np.log2(frame + 2 * tolerance + frame)))
    previous = tolerance  # where the last frame was taken from (in padded)
    for out_pos in range(0, n_out, hop):
        nominal = tolerance + int(round(out_pos * speed))
        if out_pos == 0:
            chosen = nominal
        else:
            natural = padded[previous + hop: previous + hop + frame]   # what would continue the last frame
            lo = max(nominal - tolerance, 0)
            search = padded[lo: lo + frame + 2 * tolerance]
            corr = np.fft.irfft(np.fft.rfft(search, n_fft) * np.conj(np.fft.rfft(natural, n_fft)), n_fft)
            chosen = lo + int(np.argmax(corr[: 2 * tolerance + 1]))
        out[out_pos: out_pos + frame] += padded[chosen: chosen + frame] * window
        weight[out_pos: out_pos + frame] += window
        previous = chosen
    weight[weight < 1e-3] = 1.0
    return (out / weight)[:n_out]
