"""Decoding and cached augmentation of clips, in worker processes: numpy only, never torch.

Kept apart from :mod:`trainer.cache` so that a spawned worker imports numpy,
soundfile and soxr, not torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.audio import fit_length, load_audio
from engine.errors import AudioLoadError


def prepare_clip(path: str, clip_index: int, sample_rate_hz: int, n_samples: int,
                 specs: Sequence[tuple[str, dict]], seed: int) -> np.ndarray:
    """Decode once, fit to length, then the original plus one waveform per variant ``[1+V, n]``."""
    from trainer.augment import create_augmentation

    samples = fit_length(load_audio(path, sample_rate_hz).samples, n_samples)
    out = np.empty((1 + len(specs), n_samples), dtype=np.float32)
    out[0] = samples
    for v, (name, kwargs) in enumerate(specs, start=1):
        rng = np.random.default_rng([seed, clip_index, v])   # seeded per clip and variant
        out[v] = create_augmentation(name, **{**kwargs, "p": 1.0}).apply(samples, sample_rate_hz, rng)
    return out


def prepare_chunk(tasks, sample_rate_hz, n_samples, specs, seed):
    results = []
    for clip_index, path in tasks:
        try:
            results.append((clip_index, prepare_clip(path, clip_index, sample_rate_hz, n_samples, specs, seed), None))
        except AudioLoadError as exc:
            results.append((clip_index, None, str(exc)))
    return results
