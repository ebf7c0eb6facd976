"""Reverb: convolve with a synthetic room impulse response of a drawn RT60.

No impulse-response files can be downloaded or shipped here (offline build), so the
response is synthesised: a direct path followed by Gaussian noise under an
exponential envelope that falls 60 dB in RT60 seconds - the classic statistical
model of a diffuse late reverberation tail. It is convolved with
``scipy.signal.fftconvolve`` and the result is cut to the input length and
rescaled to the input's peak level, so only the colour of the room changes.
"""

from __future__ import annotations

import numpy as np

from trainer.augment.base import Augmentation, check_range


def synthetic_impulse_response(rt60_s: float, sample_rate_hz: int, rng: np.random.Generator,
                               *, wet: float = 0.6) -> np.ndarray:
    n_samples = max(2, int(rt60_s * sample_rate_hz))
    t_s = np.arange(n_samples) / sample_rate_hz
    decay = np.exp(-6.907755 * t_s / rt60_s)  # ln(1000): -60 dB at t = rt60
    tail = rng.standard_normal(n_samples) * decay
    tail *= wet / (np.sqrt(np.sum(tail**2)) or 1.0)
    tail[0] = 1.0  # direct sound
    return tail.astype(np.float32)


class Reverb(Augmentation):
    name = "reverb"

    def __init__(self, rt60_s: tuple[float, float] = (0.2, 1.0), wet: tuple[float, float] = (0.3, 0.8),
                 p: float = 0.5):
        super().__init__(p)
        self.rt60_s = check_range("rt60_s", rt60_s, low=0.01, high=10.0)
        self.wet = check_range("wet", wet, low=0.0, high=4.0)

    def _transform(self, samples, sample_rate_hz, rng):
        from scipy.signal import fftconvolve  # scipy.signal is slow to import: only when used

        rt60_s = float(rng.uniform(*self.rt60_s))
        wet = float(rng.uniform(*self.wet))
        ir = synthetic_impulse_response(rt60_s, sample_rate_hz, rng, wet=wet)
        out = fftconvolve(samples, ir, mode="full")[: len(samples)]
        peak_in, peak_out = float(np.max(np.abs(samples))), float(np.max(np.abs(out)))
        if peak_out > 0:
            out = out * (peak_in / peak_out)
        return out.astype(np.float32)
