"""Gain: scale the clip by a level drawn in decibels."""

from __future__ import annotations

import numpy as np

from trainer.augment.base import Augmentation, check_range


class Gain(Augmentation):
    name = "gain"

    def __init__(self, db: tuple[float, float] = (-6.0, 6.0), p: float = 0.5):
        super().__init__(p)
        self.db = check_range("db", db, low=-60.0, high=40.0)

    def draw_db(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(*self.db))

    def _transform(self, samples, sample_rate_hz, rng):
        gain_db = self.draw_db(rng)
        return samples * np.float32(10.0 ** (gain_db / 20.0))
