"""Time stretch by a rate drawn from a range (phase vocoder), cropped/padded to length."""

from __future__ import annotations

import numpy as np

from trainer.augment.base import Augmentation, check_range
from trainer.augment.pitch_shift import _n_fft_for
from trainer.augment.vocoder import time_stretch


class TimeStretch(Augmentation):
    name = "time_stretch"

    def __init__(self, rate: tuple[float, float] = (0.85, 1.15), p: float = 0.5):
        super().__init__(p)
        self.rate = check_range("rate", rate, low=0.25, high=4.0)

    def draw_rate(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(*self.rate))

    def _transform(self, samples, sample_rate_hz, rng):
        rate = self.draw_rate(rng)  # > 1 is faster (events earlier), < 1 slower
        return time_stretch(samples, rate=rate, n_fft=_n_fft_for(len(samples)))
