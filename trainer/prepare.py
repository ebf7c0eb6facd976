"""Decoding and cached augmentation of clips, in worker processes: numpy only, never torch.

Kept apart from :mod:`trainer.cache` so that a spawned worker imports numpy,
soundfile and soxr, not torch.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
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


# glibc's mallopt parameters (malloc.h) and the values keep_freed_memory sets
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
HEAP_BLOCK_BYTES = 32 << 20    # blocks below this come from the heap, not from mmap
KEPT_FREE_BYTES = 64 << 20     # free heap glibc may keep for reuse


@functools.cache
def keep_freed_memory() -> bool:
    """Let glibc reuse freed blocks instead of handing them back to the system (once per process).

    Preparing a clip makes dozens of short-lived arrays of a few MB (spectrograms, variants).
    By default glibc maps each large one afresh and unmaps it when freed, so every array is
    page-faulted in again, and page faults are slow on virtual machines: on the 2-core build
    machine this setting took a clip with five variants from 71-85 ms to 42-47 ms (two
    alternating runs each, 2026-12-01; a 256 MiB trim threshold was no faster than 64 MiB).
    Blocks under ``HEAP_BLOCK_BYTES`` come from the heap and at most ``KEPT_FREE_BYTES`` of free
    heap is kept: the process holds up to that much more memory than it uses. Only on glibc;
    elsewhere nothing changes. Returns whether the setting is in force.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    if not hasattr(libc, "gnu_get_libc_version"):  # glibc only: musl's mallopt is a stub
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, HEAP_BLOCK_BYTES)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, KEPT_FREE_BYTES))


def prepare_chunk(tasks, sample_rate_hz, n_samples, specs, seed):
    results = []
    for clip_index, path in tasks:
        try:
            results.append((clip_index, prepare_clip(path, clip_index, sample_rate_hz, n_samples, specs, seed), None))
        except AudioLoadError as exc:
            results.append((clip_index, None, str(exc)))
    return results
