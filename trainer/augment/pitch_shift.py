"""Pitch shift by a number of semitones drawn from a range, length kept (librosa's algorithm)."""

from __future__ import annotations

import numpy as np

from trainer.augment.base import Augmentation, check_range
from trainer.augment.vocoder import pitch_shift


class PitchShift(Augmentation):
    name = "pitch_shift"

    def __init__(self, semitones: tuple[float, float] = (-2.0, 2.0), p: float = 0.5):
        super().__init__(p)
        self.semitones = check_range("semitones", semitones, low=-12.0, high=12.0)

    def draw_semitones(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(*self.semitones))

    def _transform(self, samples, sample_rate_hz, rng):
        steps = self.draw_semitones(rng)
        return pitch_shift(samples, sample_rate_hz=sample_rate_hz, n_steps=steps, n_fft=_n_fft_for(len(samples)))


def _n_fft_for(n_samples: int) -> int:
    """librosa's default 2048-point STFT, smaller for very short clips."""
    n_fft = 2048
    while n_fft > 64 and n_fft > n_samples:
        n_fft //= 2
    return n_fft
