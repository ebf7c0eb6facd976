"""Annotated recordings for tests: noise with a low tone and a high tone, labelled in Audacity files."""

from __future__ import annotations

import numpy as np

from engine.annotations.formats import write_regions
from engine.annotations.regions import Region

SR = 8000


def _recording(write_wav, name, seed, seconds=6.0):
    """Noise with a 300 Hz tone at 1-2 s and a 2 kHz tone at 3.5-4.5 s."""
    rng = np.random.default_rng(seed)
    x = 0.02 * rng.standard_normal(int(seconds * SR)).astype(np.float32)
    t = np.arange(SR) / SR
    x[SR:2 * SR] += 0.5 * np.sin(2 * np.pi * 300 * t).astype(np.float32)
    x[int(3.5 * SR):int(4.5 * SR)] += 0.5 * np.sin(2 * np.pi * 2000 * t).astype(np.float32)
    return write_wav(f"recs/{name}.wav", x, SR)


def annotated_recordings(write_wav, tmp_path, n=6):
    audio, labels = [], []
    for k in range(n):
        path = _recording(write_wav, f"site{k}", k)
        label = tmp_path / "recs" / f"site{k}.txt"
        write_regions(label, [Region(1.0, 2.0, "low"), Region(3.5, 4.5, "high", low_hz=1500.0, high_hz=2500.0)],
                      "audacity")
        audio.append(path)
        labels.append(label)
    return audio, labels
