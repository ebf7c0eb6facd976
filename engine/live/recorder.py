"""Record a live stream to WAV or FLAC, streaming to disk from a writer thread.

The recorder reads the ring buffer (one per channel for a stereo input) through its own
cursors, so capture never waits for the disk. It writes at the capture's rate and channel
count, in the sample format asked for (16- or 24-bit PCM, or 32-bit float in WAV). A failed write (a full disk, a vanished folder) stops the recording, closes the file
so that what was written stays playable, and is reported as :class:`SaveError`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from engine.errors import SaveError
from engine.live.ringbuffer import RingBuffer

FORMATS = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16")}
SUBTYPES = {"PCM_16": "16-bit", "PCM_24": "24-bit", "FLOAT": "32-bit float"}
SUBTYPES_OF = {"wav": ("PCM_16", "PCM_24", "FLOAT"), "flac": ("PCM_16", "PCM_24")}


def describe_format(channels: int, sample_rate_hz: int, fmt: str, subtype: str) -> str:
    """``"2 ch · 48000 Hz · 24-bit WAV"``: what a recording is, for people."""
    layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels} ch")
    return f"{layout} · {sample_rate_hz} Hz · {SUBTYPES.get(subtype, subtype)} {fmt.upper()}"


def timestamped_path(folder: str | Path, fmt: str = "wav", *, prefix: str = "earmark",
                     now: float | None = None) -> Path:
    """``folder/prefix-YYYYmmdd-HHMMSS.fmt``, with ``-2``, ``-3``… when the name is taken."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    folder = Path(folder)
    path = folder / f"{prefix}-{stamp}.{fmt}"
    n = 2
    while path.exists():
        path = folder / f"{prefix}-{stamp}-{n}.{fmt}"
        n += 1
    return path


class Recorder:
    """Write everything that enters ``ring`` after :meth:`start` until :meth:`stop`.

    ``ring`` is one ring buffer (mono) or a list of them, one per channel, written in step
    (:attr:`engine.live.sources.MicSource.channel_rings`). ``subtype`` is a libsndfile subtype
    of :data:`SUBTYPES_OF` ``[fmt]`` (default 16-bit PCM).
    """

    def __init__(self, ring: RingBuffer | list[RingBuffer], sample_rate_hz: int, folder: str | Path, *,
                 fmt: str = "wav", prefix: str = "earmark", poll_s: float = 0.05, subtype: str | None = None) -> None:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise ValueError(f"Unknown recording format {fmt!r}; choose one of {sorted(FORMATS)}")
        subtype = subtype or FORMATS[fmt][1]
        if subtype not in SUBTYPES_OF[fmt]:
            raise ValueError(f"{fmt.upper()} cannot hold {subtype!r}; choose one of {SUBTYPES_OF[fmt]}")
        self.rings = list(ring) if isinstance(ring, (list, tuple)) else [ring]
        self.ring = self.rings[0]
        self.channels = len(self.rings)
        self.subtype = subtype
        self.sample_rate_hz = int(sample_rate_hz)
        self.folder = Path(folder)
        self.fmt = fmt
        self.prefix = prefix
        self.poll_s = poll_s
        self.path: Path | None = None
        self.n_samples_written = 0
        self.error: SaveError | None = None
        self.dropped_samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._file: sf.SoundFile | None = None

    @property
    def recording(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def duration_s(self) -> float:
        return self.n_samples_written / self.sample_rate_hz

    @property
    def description(self) -> str:
        return describe_format(self.channels, self.sample_rate_hz, self.fmt, self.subtype)

    def start(self) -> Path:
        """Create the file and start writing; raises SaveError if the folder is unusable."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.path = timestamped_path(self.folder, self.fmt, prefix=self.prefix)
            container = FORMATS[self.fmt][0]
            self._file = sf.SoundFile(self.path, "w", samplerate=self.sample_rate_hz, channels=self.channels,
                                      format=container, subtype=self.subtype)
        except (OSError, RuntimeError, sf.LibsndfileError) as exc:
            raise SaveError(f"Cannot record into {self.folder}: {exc}") from exc
        self._readers = [ring.reader() for ring in self.rings]
        self._align(max(r.cursor for r in self._readers))
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="earmark-recorder")
        self._thread.start()
        return self.path

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self.poll_s)
            if not self._drain() or stopping:
                break
        self._close()

    def _align(self, cursor: int) -> None:
        for reader in self._readers:
            reader.cursor = cursor

    def _drain(self) -> bool:
        lost = max(reader.skip_lapped() for reader in self._readers)
        if lost:
            self._align(max(r.cursor for r in self._readers))  # the channels stay in step
        self.dropped_samples += lost
        # the capture thread writes the channels one after the other: take what all of them have
        n = min(reader.available for reader in self._readers)
        if n <= 0:
            return True
        columns = [reader.read(n) for reader in self._readers]
        block = columns[0] if self.channels == 1 else np.stack(columns, axis=1)
        try:
            self._file.write(block)  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001 - OSError, LibsndfileError (disk full)
            self.error = SaveError(
                f"Recording to {self.path} stopped: {exc}. The first {self.duration_s:.1f} s were kept."
            )
            return False
        self.n_samples_written += n
        return True

    def _close(self) -> None:
        file, self._file = self._file, None
        if file is None:
            return
        try:
            file.close()
        except Exception as exc:  # noqa: BLE001
            if self.error is None:
                self.error = SaveError(f"Cannot finish {self.path}: {exc}")

    def stop(self, timeout_s: float = 5.0) -> Path | None:
        """Flush what is pending, close the file and return its path; raises SaveError on failure."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)
        if self.error is not None:
            raise self.error
        return self.path
