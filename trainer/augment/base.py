"""The augmentation contract: a small class with a probability ``p`` and a pure ``apply``.

Parameters are drawn from an injected :class:`numpy.random.Generator`, never from
global randomness, so a clip's variant is reproducible from its seed alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def check_probability(p: float) -> float:
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"probability p must lie in [0, 1], got {p}")
    return float(p)


def check_range(name: str, bounds: Sequence[float], *, low: float | None = None,
                high: float | None = None) -> tuple[float, float]:
    """Validate a ``(min, max)`` parameter range, optionally inside ``[low, high]``."""
    try:
        lo, hi = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (min, max) pair of numbers, got {bounds!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise ValueError(f"{name} must be a finite (min, max) pair with min <= max, got {bounds!r}")
    if low is not None and lo < low:
        raise ValueError(f"{name} minimum must be >= {low}, got {lo}")
    if high is not None and hi > high:
        raise ValueError(f"{name} maximum must be <= {high}, got {hi}")
    return lo, hi


def as_mono_float32(samples: np.ndarray) -> np.ndarray:
    array = np.asarray(samples, dtype=np.float32)
    if array.ndim != 1:
        raise ValueError(f"augmentations take mono samples of shape [n_samples], got shape {array.shape}")
    return array


def fix_length(samples: np.ndarray, n_samples: int) -> np.ndarray:
    """Crop the end or zero-pad the end so the result has exactly ``n_samples``."""
    if len(samples) >= n_samples:
        return np.ascontiguousarray(samples[:n_samples], dtype=np.float32)
    out = np.zeros(n_samples, dtype=np.float32)
    out[: len(samples)] = samples
    return out


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0


class Augmentation:
    """Base class: ``apply`` draws whether to act (probability ``p``), then calls ``_transform``."""

    name: str = "augmentation"

    def __init__(self, p: float = 0.5):
        self.p = check_probability(p)

    def apply(self, samples: np.ndarray, sample_rate_hz: int, rng: np.random.Generator) -> np.ndarray:
        """Return an augmented copy with the same length and dtype float32 (the input is untouched)."""
        array = as_mono_float32(samples)
        if sample_rate_hz <= 0:
            raise ValueError(f"sample_rate_hz must be positive, got {sample_rate_hz}")
        if self.p <= 0.0 or rng.random() >= self.p or len(array) == 0:
            return array.copy()
        out = self._transform(array, int(sample_rate_hz), rng)
        out = fix_length(np.asarray(out, dtype=np.float32), len(array))
        return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)

    __call__ = apply

    def _transform(self, samples: np.ndarray, sample_rate_hz: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"
