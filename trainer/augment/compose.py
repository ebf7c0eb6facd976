"""Composition of augmentations: all in order (``Compose``) or one of them (``OneOf``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trainer.augment.base import Augmentation, as_mono_float32, check_probability


class Compose(Augmentation):
    """Apply each augmentation in order (each with its own ``p``), with probability ``p``."""

    name = "compose"

    def __init__(self, augmentations: Sequence[Augmentation], p: float = 1.0):
        self.p = check_probability(p)
        self.augmentations = list(augmentations)
        if not all(hasattr(a, "apply") for a in self.augmentations):
            raise ValueError("Compose takes augmentations with an apply(samples, sample_rate_hz, rng) method")

    def _transform(self, samples, sample_rate_hz, rng):
        for augmentation in self.augmentations:
            samples = augmentation.apply(samples, sample_rate_hz, rng)
        return samples


class OneOf(Augmentation):
    """Apply one augmentation picked uniformly (or by ``weights``), with probability ``p``."""

    name = "one_of"

    def __init__(self, augmentations: Sequence[Augmentation], weights: Sequence[float] | None = None,
                 p: float = 1.0):
        self.p = check_probability(p)
        self.augmentations = list(augmentations)
        if not self.augmentations:
            raise ValueError("OneOf needs at least one augmentation")
        if weights is None:
            weights = [1.0] * len(self.augmentations)
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (len(self.augmentations),) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"OneOf weights must be {len(self.augmentations)} non-negative numbers "
                             f"with a positive sum, got {list(weights)}")
        self.weights = w / w.sum()

    def _transform(self, samples, sample_rate_hz, rng):
        index = int(rng.choice(len(self.augmentations), p=self.weights))
        chosen = self.augmentations[index]
        # the chosen one acts for sure: its own p was the reason to pick it
        return chosen._transform(as_mono_float32(samples), sample_rate_hz, rng)
