"""Noise: add white or pink noise at a signal-to-noise ratio drawn in decibels.

The SNR is measured against the clip's own RMS, so a quiet clip gets quiet noise.
"""

from __future__ import annotations

import numpy as np

from trainer.augment.base import Augmentation, check_range, rms

COLOURS = ("white", "pink")


def pink_noise(n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Noise with a 1/f power spectrum, shaped in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(n_samples))
    freqs = np.arange(len(spectrum), dtype=np.float64)
    freqs[0] = 1.0
    return np.fft.irfft(spectrum / np.sqrt(freqs), n=n_samples)


class Noise(Augmentation):
    name = "noise"

    def __init__(self, snr_db: tuple[float, float] = (5.0, 30.0), colour: str = "random", p: float = 0.5):
        super().__init__(p)
        self.snr_db = check_range("snr_db", snr_db, low=-20.0, high=100.0)
        if colour not in (*COLOURS, "random"):
            raise ValueError(f"colour must be one of {', '.join(COLOURS)} or 'random', got {colour!r}")
        self.colour = colour

    def draw(self, rng: np.random.Generator) -> tuple[float, str]:
        snr_db = float(rng.uniform(*self.snr_db))
        colour = self.colour if self.colour != "random" else COLOURS[int(rng.integers(len(COLOURS)))]
        return snr_db, colour

    def _transform(self, samples, sample_rate_hz, rng):
        snr_db, colour = self.draw(rng)
        n = len(samples)
        noise = rng.standard_normal(n) if colour == "white" else pink_noise(n, rng)
        signal_rms = rms(samples)
        if signal_rms == 0.0:
            return samples.copy()  # SNR is undefined for silence: leave it silent
        noise_rms = rms(noise) or 1.0
        target_rms = signal_rms / (10.0 ** (snr_db / 20.0))
        return samples + (noise * (target_rms / noise_rms)).astype(np.float32)
