"""A thread that computes what the view shows for its visible range (engine.audio.ranges).

Requests coalesce: while one range is computed, newer requests replace each other and
only the latest is computed next, so zooming and panning never queue up work. The thread
opens its own :class:`engine.audio.long.LongAudio` (a SoundFile is not shared across threads).

It lives as long as its file is open (not one job: :class:`gui.workers.job_worker.JobWorker`
runs one), and like every worker it is in :data:`gui.workers.registry.workers` while it runs,
with no Qt parent, so closing the window cancels and joins it and no running thread is
ever destroyed with a widget.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from engine.audio.long import LongAudio
from engine.audio.ranges import compute_range
from engine.errors import EarmarkError
from gui.workers.registry import workers

log = logging.getLogger(__name__)


class RangeWorker(QThread):
    computed = Signal(object)   # engine.audio.ranges.RangeData
    failed = Signal(str)

    def __init__(self, path: str | Path, *, owner: object | None = None) -> None:
        super().__init__()  # no parent: the registry keeps it until its thread has ended
        self.path, self.owner = Path(path), owner
        self.what = f"Drawing {self.path.name}"
        self._cond = threading.Condition()
        self._request: tuple | None = None
        self._stopping = False

    def request(self, start_s: float, end_s: float, n_columns: int, n_fft: int, *, window: str = "hann",
                hop_length: int | None = None) -> None:
        with self._cond:
            self._request = (float(start_s), float(end_s), int(n_columns), int(n_fft), window, hop_length)
            self._cond.notify()

    def run(self) -> None:
        try:
            audio = LongAudio(self.path)
        except EarmarkError as exc:
            self.failed.emit(str(exc))
            return
        try:
            while True:
                with self._cond:
                    while self._request is None and not self._stopping:
                        self._cond.wait()
                    if self._stopping:
                        return
                    start_s, end_s, n_columns, n_fft, window, hop_length = self._request
                    self._request = None
                try:
                    self.computed.emit(compute_range(audio, start_s, end_s, n_columns, n_fft=n_fft, window=window,
                                                     hop_length=hop_length))
                except EarmarkError as exc:
                    self.failed.emit(str(exc))
                except Exception as exc:  # noqa: BLE001 - reported inline, logged with its traceback
                    log.exception("computing the view of %s failed", self.path)
                    self.failed.emit(f"Drawing {self.path.name} failed: {type(exc).__name__}: {exc}")
        finally:
            audio.close()

    def begin(self) -> RangeWorker:
        workers.add(self)
        self.finished.connect(lambda: workers.discard(self))
        self.start()
        return self

    # the registry's worker protocol
    def cancel(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()

    def join(self, timeout_s: float | None = None) -> bool:
        timeout_s = workers.clamp(timeout_s)
        return bool(self.wait() if timeout_s is None else self.wait(max(0, int(timeout_s * 1000))))

    def is_running(self) -> bool:
        return self.isRunning()

    def close(self, timeout_s: float = 5.0) -> bool:
        self.cancel()
        return self.join(timeout_s)
