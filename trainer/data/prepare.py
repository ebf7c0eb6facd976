"""Decoding and cached augmentation of clips, in worker processes: numpy only, never torch.

Kept apart from :mod:`trainer.data.cache` so that a spawned worker imports numpy,
soundfile and soxr, not torch.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Sequence

import numpy as np

from engine.audio.io import fit_length, load_audio, window_starts
from engine.errors import AudioLoadError


def apply_variants(samples: np.ndarray, sample_rate_hz: int, clip_index: int,
                   specs: Sequence[tuple[str, dict]], seed: int, cancel=None, window: int = 0) -> list[np.ndarray]:
    """One waveform per variant of ``samples``, each drawn from ``default_rng([seed, clip, variant])``
    (a later window of a long clip adds its number): the cache and the wizard's preview draw the same."""
    from trainer.augment import create_augmentation

    out = []
    for v, (name, kwargs) in enumerate(specs, start=1):
        if cancel is not None:
            cancel.raise_if_cancelled("rendering variants")
        rng = np.random.default_rng([seed, clip_index, v] + ([window] if window else []))
        out.append(create_augmentation(name, **{**kwargs, "p": 1.0}).apply(samples, sample_rate_hz, rng))
    return out


def prepare_windows(path: str, clip_index: int, sample_rate_hz: int, n_samples: int,
                    specs: Sequence[tuple[str, dict]], seed: int, hop: int | None = None):
    """Decode once and cut into windows (``engine.audio.io.window_starts``: a short clip padded, a long
    one cut every ``hop`` samples, default half a window, with none of it dropped); each window's
    original plus one waveform per variant. Returns ``(waves [W, 1+V, n], starts, clip_samples)``."""
    samples = load_audio(path, sample_rate_hz).samples
    starts = window_starts(len(samples), n_samples, hop or n_samples // 2)
    out = np.empty((len(starts), 1 + len(specs), n_samples), dtype=np.float32)
    for w, start in enumerate(starts):
        window = fit_length(samples[start : start + n_samples], n_samples)
        out[w, 0] = window
        for v, augmented in enumerate(apply_variants(window, sample_rate_hz, clip_index, specs, seed, window=w),
                                      start=1):
            out[w, v] = augmented
    return out, starts, len(samples)


def prepare_clip(path: str, clip_index: int, sample_rate_hz: int, n_samples: int,
                 specs: Sequence[tuple[str, dict]], seed: int) -> np.ndarray:
    """The first window's original plus one waveform per variant ``[1+V, n]``."""
    return prepare_windows(path, clip_index, sample_rate_hz, n_samples, specs, seed)[0][0]


def render_clip_variants(path, clip_index: int, specs: Sequence[tuple[str, dict]], seed: int, *,
                         max_rate_hz: int = 16000, max_s: float = 5.0,
                         cancel=None) -> list[tuple[np.ndarray, int]]:
    """The clip (at most ``max_s`` at min(``max_rate_hz``, its rate)) and one draw of each variant,
    as ``(samples, rate_hz)`` pairs: what a person previews before training."""
    import soundfile as sf

    try:
        native_hz = int(sf.info(str(path)).samplerate)
    except (OSError, RuntimeError, ValueError):
        native_hz = max_rate_hz     # load_audio below says what is wrong with the file
    rate_hz = min(max_rate_hz, native_hz)
    samples = load_audio(path, rate_hz).samples[: int(max_s * rate_hz)]
    variants = apply_variants(samples, rate_hz, clip_index, specs, seed, cancel)
    return [(samples, rate_hz), *((v, rate_hz) for v in variants)]


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


def prepare_chunk(tasks, sample_rate_hz, n_samples, specs, seed, hop=None):
    """``(clip_index, (waves, starts, clip_samples) or None, error or None)`` per task."""
    results = []
    for clip_index, path in tasks:
        try:
            prepared = prepare_windows(path, clip_index, sample_rate_hz, n_samples, specs, seed, hop)
            results.append((clip_index, prepared, None))
        except AudioLoadError as exc:
            results.append((clip_index, None, str(exc)))
    return results
