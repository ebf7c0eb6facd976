"""Shared by the reliability tests: bounded hypothesis settings and small file builders.

The settings object is applied per test (not loaded as a global profile) so other
packages' hypothesis tests keep their own defaults. CI uses fixed, derandomised examples.
For a longer local hunt: ``EARMARK_FUZZ_EXAMPLES=2000 EARMARK_FUZZ_RANDOM=1 .venv/bin/pytest tests/reliability``.
"""

from __future__ import annotations

import io
import os
import struct
from datetime import timedelta

import numpy as np
import soundfile as sf
from hypothesis import HealthCheck, settings

FUZZ_EXAMPLES = int(os.environ.get("EARMARK_FUZZ_EXAMPLES", "60"))

FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=timedelta(seconds=5),  # a per-example ceiling: a hang fails instead of stalling CI
    derandomize=os.environ.get("EARMARK_FUZZ_RANDOM") is None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


def sine(n_samples: int, sample_rate_hz: int, freq_hz: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(n_samples) / sample_rate_hz
    mono = (0.5 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
    return mono if channels == 1 else np.stack([mono] * channels, axis=1)


def encode(samples: np.ndarray, sample_rate_hz: int, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate_hz, format=fmt, subtype=subtype)
    return buffer.getvalue()


def wav_header(*, sample_rate_hz: int, channels: int, bits: int, n_data_bytes: int, fmt_tag: int = 1,
               riff_bytes: int | None = None) -> bytes:
    """A canonical 44-byte RIFF/WAVE header with every field chosen by the caller."""
    block_align = channels * bits // 8
    riff = (36 + n_data_bytes) if riff_bytes is None else riff_bytes
    return (
        b"RIFF" + struct.pack("<I", riff & 0xFFFFFFFF) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, fmt_tag & 0xFFFF, channels & 0xFFFF, sample_rate_hz & 0xFFFFFFFF,
                                (sample_rate_hz * block_align) & 0xFFFFFFFF, block_align & 0xFFFF, bits & 0xFFFF)
        + b"data" + struct.pack("<I", n_data_bytes & 0xFFFFFFFF)
    )


def rss_mib() -> float:
    """Current resident set size (Linux /proc), in MiB."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
