"""A folder of real WAV recordings with tone bursts at known places, and a tone model with an embedding.

Every recording is ``SECONDS`` of quiet noise with a 300 Hz burst at ``LOW_AT_S`` and a 2 kHz
burst at ``HIGH_AT_S``, each ``BURST_S`` long (a model window) and shifted a little per recording,
so "more like this" has a known answer: the other recordings' bursts of the same tone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from tests.helpers_onnx import write_tone_model

SR = 8000
SECONDS = 10.0
LOW_AT_S, HIGH_AT_S = 2.0, 6.0
BURST_S = 0.5
NAMES = ("r0.wav", "r1.wav", "r2.wav", "sub/r3.wav", "sub/r4.wav", "sub/deeper/r5.wav")


def shift_s(i: int) -> float:
    return 0.25 * (i % 3)


def write_recording(path: Path, i: int, *, seconds: float = SECONDS) -> Path:
    rng = np.random.default_rng(i)
    samples = (0.005 * rng.standard_normal(int(SR * seconds))).astype(np.float32)
    t = np.arange(int(BURST_S * SR)) / SR
    for at_s, freq_hz in ((LOW_AT_S, 300.0), (HIGH_AT_S, 2000.0)):
        first = int((at_s + shift_s(i)) * SR)
        samples[first:first + len(t)] += (0.4 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, SR, subtype="PCM_16")
    return path


def write_folder(root: Path) -> Path:
    for i, name in enumerate(NAMES):
        write_recording(root / name, i)
    return root


def write_model(path: Path) -> Path:
    return write_tone_model(path, sample_rate_hz=SR, clip_s=0.5, with_embedding=True)


def windows_per_recording(seconds: float = SECONDS, window_s: float = 0.5, hop_s: float = 0.25) -> int:
    return int(round((seconds - window_s) / hop_s)) + 1


def write_synthetic_index(root: Path, n_rows: int, *, dim: int = 16, labels=("a", "b", "c"), recordings: int = 4,
                          window_s: float = 1.0, hop_s: float = 0.5, dead_rows: int = 0, seed: int = 0) -> Path:
    """An index folder of ``n_rows`` live random unit vectors, no model or audio needed: the rows are
    split over ``recordings`` recordings (``rec0.wav`` …), a cluster per label so a map has shape, and
    ``dead_rows`` rows of a first version of ``rec0.wav`` are superseded (dead) before the live ones."""
    from engine.index.build import normalise
    from engine.index.store import Entry, IndexStore

    rng = np.random.default_rng(seed)
    store = IndexStore.create_or_open(root, {"folder": str(root.parent), "labels": list(labels), "dim": dim,
                                             "window_s": window_s, "hop_s": hop_s})
    centres = rng.standard_normal((len(labels), dim)) * 2

    def rows(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        answer = rng.integers(0, len(labels), n)
        probs = np.full((n, len(labels)), 0.1 / max(len(labels) - 1, 1), np.float32)
        probs[np.arange(n), answer] = 0.9
        return np.arange(n) * hop_s, normalise(centres[answer] + rng.standard_normal((n, dim))), probs

    if dead_rows:
        store.append(*rows(dead_rows))
        store.commit(Entry(path="rec0.wav", size=1, mtime_ns=1))
    bounds = np.linspace(0, n_rows, recordings + 1).astype(int)
    for i in range(recordings):
        store.append(*rows(int(bounds[i + 1] - bounds[i])))
        store.commit(Entry(path=f"rec{i}.wav", size=2, mtime_ns=2))
    store.close()
    return root
