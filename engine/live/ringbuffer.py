"""A mirrored ring buffer for live audio: one writer, any number of readers, Qt-free.

Every sample is stored twice (at ``i`` and ``i + capacity``), so any recent window of up
to ``capacity`` samples is one contiguous slice, returned as a view without copying
(friture's trick). The writer (a PortAudio callback) never allocates: it copies into the
preallocated array and records when each block arrived in a preallocated timestamp ring.

Samples are addressed by their absolute index since the buffer was created
(``total_written`` grows forever), so readers keep their own cursors and can tell when the
writer has lapped them.
"""

from __future__ import annotations

import time

import numpy as np

_N_STAMPS = 4096


class RingBuffer:
    """Single-producer ring buffer of float32 mono samples."""

    def __init__(self, capacity: int, *, clock=time.monotonic) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1 sample, got {capacity}")
        self.capacity = int(capacity)
        self._buf = np.zeros(2 * self.capacity, dtype=np.float32)
        self._written = 0
        self._clock = clock
        # (total_written after the block, arrival time) for the last _N_STAMPS blocks
        self._stamp_end = np.zeros(_N_STAMPS, dtype=np.int64)
        self._stamp_time = np.zeros(_N_STAMPS, dtype=np.float64)
        self._n_stamps = 0

    @property
    def total_written(self) -> int:
        """Samples written since creation (the absolute index of the next sample)."""
        return self._written

    def write(self, block: np.ndarray, arrival_s: float | None = None) -> None:
        """Copy ``block`` (1-D float32) in; blocks longer than the capacity keep their tail."""
        n = block.shape[0]
        if n == 0:
            return
        if n > self.capacity:
            skipped = n - self.capacity
            block = block[skipped:]
            self._written += skipped
            n = self.capacity
        cap = self.capacity
        pos = self._written % cap
        buf = self._buf
        buf[pos:pos + n] = block
        head = min(n, cap - pos)
        buf[pos + cap:pos + cap + head] = block[:head]
        if n > head:
            buf[0:n - head] = block[head:]
        slot = self._n_stamps % _N_STAMPS
        self._stamp_end[slot] = self._written + n
        self._stamp_time[slot] = self._clock() if arrival_s is None else arrival_s
        self._n_stamps += 1
        self._written += n  # publish last: readers never see a half-written block

    def oldest_index(self) -> int:
        """Absolute index of the oldest sample still held."""
        return max(0, self._written - self.capacity)

    def window(self, end: int, n_samples: int) -> np.ndarray:
        """The ``n_samples`` ending at absolute index ``end`` as a contiguous read-only view.

        Samples before the start of the stream read as zeros. Raises ``IndexError`` when
        the window is no longer (or not yet) in the buffer.
        """
        if n_samples > self.capacity:
            raise IndexError(f"window of {n_samples} samples exceeds capacity {self.capacity}")
        if end > self._written or end - n_samples < self._written - self.capacity:
            raise IndexError(f"samples [{end - n_samples}, {end}) are not in the buffer")
        start = (end - n_samples) % self.capacity
        view = self._buf[start:start + n_samples]
        view.flags.writeable = False
        return view

    def latest(self, n_samples: int) -> np.ndarray:
        """The newest ``n_samples`` (zeros before the stream started), as a view."""
        return self.window(self._written, min(n_samples, self.capacity))

    def is_intact(self, end: int, n_samples: int) -> bool:
        """True when the window ending at ``end`` has not been overwritten since it was read."""
        return end - n_samples >= self._written - self.capacity

    def arrival_time(self, end: int) -> float | None:
        """When the block holding sample ``end - 1`` arrived (None when no longer known)."""
        n = min(self._n_stamps, _N_STAMPS)
        if n == 0 or end <= 0:
            return None
        newest = (self._n_stamps - 1) % _N_STAMPS
        for back in range(n):
            slot = (newest - back) % _N_STAMPS
            block_end = self._stamp_end[slot]
            prev_end = self._stamp_end[(slot - 1) % _N_STAMPS] if back + 1 < n else -1
            if prev_end < end <= block_end:
                return float(self._stamp_time[slot])
        return None

    def reader(self, *, from_start: bool = False) -> RingReader:
        """A new consumer with its own cursor, starting now (or at the oldest sample)."""
        return RingReader(self, self.oldest_index() if from_start else self._written)


class RingReader:
    """One consumer's cursor over a :class:`RingBuffer`; consumes whole hops."""

    def __init__(self, ring: RingBuffer, cursor: int) -> None:
        self.ring = ring
        self.cursor = cursor
        self.dropped_samples = 0

    @property
    def available(self) -> int:
        return self.ring.total_written - self.cursor

    def skip_lapped(self) -> int:
        """Move the cursor past samples the writer has overwritten; returns how many."""
        oldest = self.ring.oldest_index()
        if self.cursor < oldest:
            lost = oldest - self.cursor
            self.cursor = oldest
            self.dropped_samples += lost
            return lost
        return 0

    def skip_to_latest(self, keep_hops: int, hop: int) -> int:
        """Drop whole hops so that at most ``keep_hops`` remain unread; returns samples skipped."""
        self.skip_lapped()
        extra_hops = self.available // hop - keep_hops
        if extra_hops <= 0:
            return 0
        skipped = extra_hops * hop
        self.cursor += skipped
        self.dropped_samples += skipped
        return skipped

    def next_hop(self, hop: int, window: int) -> tuple[np.ndarray, int] | None:
        """Consume ``hop`` samples; return (the ``window`` samples ending there, end index).

        A reader the writer has lapped skips ahead (counted in ``dropped_samples``) far
        enough that the whole window is still held, so it never asks for lost audio.
        """
        for _ in range(3):
            self.skip_lapped()
            oldest = self.ring.oldest_index()
            if oldest > 0 and self.cursor + hop - window < oldest:
                lost = oldest + window - hop - self.cursor
                self.cursor += lost
                self.dropped_samples += lost
            if self.available < hop:
                return None
            end = self.cursor + hop
            try:
                view = self.ring.window(end, window)
            except IndexError:
                continue  # the writer lapped us between the check and the read: skip again
            self.cursor = end
            return view, end
        return None

    def read(self, max_samples: int | None = None) -> np.ndarray:
        """Consume everything new (up to ``max_samples``) as a copy."""
        self.skip_lapped()
        n = self.available if max_samples is None else min(self.available, max_samples)
        if n <= 0:
            return np.zeros(0, dtype=np.float32)
        out = np.array(self.ring.window(self.cursor + n, n), copy=True)
        self.cursor += n
        return out
