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
