"""Long WAV files made in a moment: a header, a sparse (zero) data chunk, and a few real blocks."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def write_long_wav(path: str | Path, seconds: float, sample_rate_hz: int = 44100, channels: int = 2,
                   tones: dict[float, float] | None = None, tone_s: float = 2.0) -> Path:
    """PCM-16 WAV of ``seconds``: silence (a sparse file, no disk used) with ``tones`` {start s: Hz}."""
    path = Path(path)
    frames = int(seconds * sample_rate_hz)
    block_align = 2 * channels
    data_bytes = frames * block_align
    if data_bytes + 36 >= 1 << 32:
        raise ValueError(f"{seconds} s does not fit a WAV file")
    header = b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate_hz, sample_rate_hz * block_align,
                                    block_align, 16)
    header += b"data" + struct.pack("<I", data_bytes)
    with open(path, "wb") as handle:
        handle.write(header)
        handle.truncate(len(header) + data_bytes)
        for start_s, freq_hz in (tones or {}).items():
            t = np.arange(int(tone_s * sample_rate_hz)) / sample_rate_hz
            tone = (0.5 * 32767 * np.sin(2 * np.pi * freq_hz * t)).astype("<i2")
            handle.seek(len(header) + int(start_s * sample_rate_hz) * block_align)
            handle.write(np.repeat(tone[:, None], channels, axis=1).tobytes())
    return path
