"""Recordings of any length, read from disk on demand: ranges by seek, streams by blocks.

:class:`LongAudio` never holds more than one block of a file. ``read(start_s, end_s)``
seeks and decodes just that range; ``blocks(...)`` streams the file as mono blocks,
resampled block by block with a stateful soxr stream (no seams at block edges);
``overview(n_bins)`` is a min/max envelope for a waveform view — ``sampled=True`` reads
a short stretch at each bin (fast: a four-hour file in well under a second), else every
frame in blocks (exact).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from engine.audio.io import check_header, probe_file
from engine.errors import AudioLoadError, first_line

BLOCK_S = 30.0  # seconds per streamed block: 30 s of 44.1 kHz stereo is about 10 MB of float32
BLOCK_SAMPLES = 1 << 22  # and at most this many samples (frames x channels, 16 MiB of float32) per read
_ERRORS = (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OSError)


@dataclass(frozen=True)
class Envelope:
    """Per-bin minimum and maximum of the mono mix, ``times_s`` the start of each bin."""

    times_s: np.ndarray
    mins: np.ndarray
    maxs: np.ndarray
    bin_s: float


class LongAudio:
    """One audio file, opened for on-demand reads (call :meth:`close`, or use ``with``)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        check_header(self.path, probe_file(self.path))  # the reasons load_audio gives, before opening
        try:
            self._file = sf.SoundFile(os.fspath(self.path))
        except _ERRORS as exc:
            raise AudioLoadError(f"{self.path}: cannot open the audio ({first_line(exc)})") from exc
        if not self._file.seekable():
            self._file.close()
            raise AudioLoadError(f"{self.path}: this audio stream cannot seek; convert it to WAV or FLAC")
        try:
            check_header(self.path, self._file)  # the limits load_audio applies: rate, channels, length
        except AudioLoadError:
            self._file.close()
            raise
        self.sample_rate_hz = int(self._file.samplerate)
        self.channels = int(self._file.channels)
        self.frames = int(self._file.frames)
        self.cut_short_at_s: float | None = None  # where a stream through :meth:`blocks` found the file ending early
        if self.frames >= 1 << 62:
            self._file.close()
            raise AudioLoadError(f"{self.path}: the file states no length (a recording cut short?)")

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate_hz

    def __enter__(self) -> LongAudio:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def frame_at(self, time_s: float) -> int:
        return int(min(max(round(time_s * self.sample_rate_hz), 0), self.frames))

    def read(self, start_s: float, end_s: float, *, mono: bool = True) -> np.ndarray:
        """Samples from ``start_s`` to ``end_s`` (clamped to the file): float32, mono mix or [n, ch]."""
        first, last = self.frame_at(start_s), self.frame_at(end_s)
        return self.read_frames(first, max(last - first, 0), mono=mono)

    def read_frames(self, first: int, count: int, *, mono: bool = True) -> np.ndarray:
        """``count`` frames from ``first``: the mono mix (read a bounded block at a time) or [n, ch]."""
        if not mono:
            return self._read(first, count)
        step = max(1, BLOCK_SAMPLES // self.channels)
        if count <= step:
            return self._mono(self._read(first, count))
        out = np.empty(count, dtype=np.float32)
        done = 0
        while done < count:
            part = self._mono(self._read(first + done, min(step, count - done)))
            if not len(part):
                break
            out[done:done + len(part)] = part
            done += len(part)
        return out[:done]

    def _read(self, first: int, count: int) -> np.ndarray:
        try:
            self._file.seek(first)
            return self._file.read(count, dtype="float32", always_2d=True)
        except _ERRORS as exc:
            raise AudioLoadError(f"{self.path}: cannot decode audio at frame {first} ({first_line(exc)})") from exc

    def _mono(self, data: np.ndarray) -> np.ndarray:
        return data.mean(axis=1, dtype=np.float32) if self.channels > 1 else data[:, 0].copy()

    def block_frames(self, block_s: float = BLOCK_S) -> int:
        """Frames per streamed block: ``block_s`` seconds, fewer for many channels."""
        return max(1, min(int(block_s * self.sample_rate_hz), BLOCK_SAMPLES // self.channels))

    def blocks(self, sample_rate_hz: int | None = None, *, block_s: float = BLOCK_S,
               start_s: float = 0.0) -> Iterator[np.ndarray]:
        """The file from ``start_s`` as mono float32 blocks, resampled to ``sample_rate_hz``."""
        rate = sample_rate_hz or self.sample_rate_hz
        stream = None if rate == self.sample_rate_hz else soxr.ResampleStream(
            self.sample_rate_hz, rate, 1, dtype="float32", quality="HQ")
        block = self.block_frames(block_s)
        position = self.frame_at(start_s)
        while position < self.frames:
            count = min(block, self.frames - position)
            mono = self.read_frames(position, count)
            position += len(mono)
            short = len(mono) < count  # the file ends before its header said: cut short while being read?
            if short:
                self.cut_short_at_s = position / self.sample_rate_hz
            if not np.isfinite(mono).all():
                raise AudioLoadError(f"{self.path}: the audio contains NaN or infinite samples")
            yield mono if stream is None else stream.resample_chunk(mono, last=short or position >= self.frames)
            if short:
                return

    def overview(self, n_bins: int, *, start_s: float = 0.0, end_s: float | None = None,
                 sampled: bool = False, probe_frames: int = 2048) -> Envelope:
        """Min/max of ``n_bins`` equal bins over ``start_s``..``end_s`` (the whole file by default)."""
        first = self.frame_at(start_s)
        last = self.frames if end_s is None else max(self.frame_at(end_s), first + 1)
        n_bins = max(1, min(int(n_bins), last - first))
        edges = np.linspace(first, last, n_bins + 1).round().astype(np.int64)
        mins = np.zeros(n_bins, dtype=np.float32)
        maxs = np.zeros(n_bins, dtype=np.float32)
        bin_frames = (last - first) / n_bins
        if sampled and bin_frames > probe_frames:
            for i in range(n_bins):
                x = self.read_frames(int(edges[i]), probe_frames)
                if x.size:
                    mins[i], maxs[i] = x.min(), x.max()
        else:
            self._exact_envelope(edges, mins, maxs)
        return Envelope(edges[:-1] / self.sample_rate_hz, mins, maxs, bin_frames / self.sample_rate_hz)

    def _exact_envelope(self, edges: np.ndarray, mins: np.ndarray, maxs: np.ndarray) -> None:
        block = self.block_frames()
        first, last = int(edges[0]), int(edges[-1])
        mins.fill(np.inf)
        maxs.fill(-np.inf)
        position = first
        while position < last:
            x = self.read_frames(position, min(block, last - position))
            if not x.size:
                break
            # bins that this block touches, and the block's slice of each
            lo = int(np.searchsorted(edges, position, side="right")) - 1
            hi = int(np.searchsorted(edges, position + len(x), side="left"))
            cuts = np.clip(edges[lo:hi + 1] - position, 0, len(x))
            starts = cuts[:-1]
            keep = cuts[1:] > starts
            idx = np.arange(lo, hi)[keep]
            mins[idx] = np.minimum(mins[idx], np.minimum.reduceat(x, starts[keep]))
            maxs[idx] = np.maximum(maxs[idx], np.maximum.reduceat(x, starts[keep]))
            position += len(x)
        mins[~np.isfinite(mins)] = 0.0
        maxs[~np.isfinite(maxs)] = 0.0
