"""A thread that computes what the view shows for its visible range (engine.longview).

Requests coalesce: while one range is computed, newer requests replace each other and
only the latest is computed next, so zooming and panning never queue up work. The thread
opens its own :class:`engine.longaudio.LongAudio` (a SoundFile is not shared across threads).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from engine.errors import EarmarkError
from engine.longaudio import LongAudio
from engine.longview import compute_range

log = logging.getLogger(__name__)


class RangeWorker(QThread):
    computed = Signal(object)   # engine.longview.RangeData
    failed = Signal(str)

    def __init__(self, path: str | Path, parent=None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self._cond = threading.Condition()
        self._request: tuple | None = None
        self._stopping = False

    def request(self, start_s: float, end_s: float, n_columns: int, n_fft: int) -> None:
        with self._cond:
            self._request = (float(start_s), float(end_s), int(n_columns), int(n_fft))
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
                    start_s, end_s, n_columns, n_fft = self._request
                    self._request = None
                try:
                    self.computed.emit(compute_range(audio, start_s, end_s, n_columns, n_fft=n_fft))
                except EarmarkError as exc:
                    self.failed.emit(str(exc))
                except Exception as exc:  # noqa: BLE001 - reported inline, logged with its traceback
                    log.exception("computing the view of %s failed", self.path)
                    self.failed.emit(f"Drawing {self.path.name} failed: {type(exc).__name__}: {exc}")
        finally:
            audio.close()

    def close(self, timeout_ms: int = 5000) -> bool:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        return self.wait(timeout_ms)
