"""The live pipeline's worker: classifies new audio from the ring buffer off the GUI thread.

Capture happens in PortAudio's own thread (``engine.sources.MicSource``); this worker only
reads the ring buffer through its cursor, runs :class:`engine.stream.StreamingClassifier`
and emits the results. It also notices a device that vanished and reports it.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QThread, Signal

from engine.errors import EarmarkError
from engine.ringbuffer import RingBuffer
from engine.stream import StreamingClassifier

log = logging.getLogger(__name__)


class LiveWorker(QThread):
    classified = Signal(object)   # engine.stream.LiveResult
    failed = Signal(str)          # the device vanished, or inference broke

    def __init__(self, ring: RingBuffer, source, stream: StreamingClassifier | None, *,
                 poll_s: float = 0.01, parent=None) -> None:
        super().__init__(parent)
        self.ring = ring
        self.source = source
        self._stream = stream
        self._pending_stream: list[StreamingClassifier | None] = []
        self._pending_lock = threading.Lock()   # a switch must never land between pop() and clear()
        self._cancel = threading.Event()
        self.poll_s = poll_s

    def set_stream(self, stream: StreamingClassifier | None) -> None:
        """Switch models while running; takes effect before the next window."""
        with self._pending_lock:
            self._pending_stream.append(stream)

    def run(self) -> None:
        reader = self.ring.reader()
        while not self._cancel.is_set():
            if self._pending_stream:
                with self._pending_lock:
                    self._stream = self._pending_stream.pop()
                    self._pending_stream.clear()
                reader = self.ring.reader()
            try:
                self.source.check()
                if self._stream is not None:
                    for result in self._stream.step(reader):
                        self.classified.emit(result)
                else:
                    reader.cursor = self.ring.total_written
            except EarmarkError as exc:
                self.failed.emit(str(exc))
                return
            except Exception as exc:  # noqa: BLE001 - shown in the view, never kills the app
                log.exception("live classification failed")
                self.failed.emit(f"Live classification stopped: {type(exc).__name__}: {exc}")
                return
            self._cancel.wait(self.poll_s)

    def stop(self, timeout_ms: int = 3000) -> bool:
        """Cancel and join; True when the thread ended in time."""
        self._cancel.set()
        return self.wait(timeout_ms)
