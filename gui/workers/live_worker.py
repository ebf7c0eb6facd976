"""The live pipeline's worker: classifies new audio from the ring buffer off the GUI thread.

Capture happens in PortAudio's own thread (``engine.live.sources.MicSource``); this worker only
reads the ring buffer through its cursor, runs :class:`engine.live.stream.StreamingClassifier`
and emits the results. It also notices a device that vanished and reports it (``failed``).

It is a :class:`~gui.workers.job_worker.JobWorker` whose job runs until cancelled:
``stop()`` cancels and joins with a limit; a window still being classified past the limit
(a slow model) is left to finish in peace, referenced by the registry, never destroyed.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt, Signal, Slot

from engine.jobs import CancelToken
from engine.live.ringbuffer import RingBuffer
from engine.live.stream import StreamingClassifier
from gui.workers.job_worker import JobWorker

STOP_TIMEOUT_S = 1.0   # a window in inference past this is left to end on its own (never destroyed)


class LiveWorker(JobWorker):
    classified = Signal(object)   # engine.live.stream.LiveResult, in the GUI thread
    _result_ready = Signal(object)   # posted by the job's thread

    def __init__(self, ring: RingBuffer, source, stream: StreamingClassifier | None, *,
                 poll_s: float = 0.01, owner: object | None = None) -> None:
        super().__init__(self._classify, None, what="Live classification", owner=owner)
        self.ring = ring
        self.source = source
        self._stream = stream
        self._pending_stream: list[StreamingClassifier | None] = []
        self._pending_lock = threading.Lock()   # a switch must never land between pop() and clear()
        self.poll_s = poll_s
        self._result_ready.connect(self._on_result_ready, Qt.ConnectionType.QueuedConnection)

    def set_stream(self, stream: StreamingClassifier | None) -> None:
        """Switch models while running; takes effect before the next window."""
        with self._pending_lock:
            self._pending_stream.append(stream)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Cancel and join; True when the thread ended in time (else it ends later, on its own)."""
        return self.close(timeout_s)

    @Slot(object)
    def _on_result_ready(self, result) -> None:
        if not self.token.cancelled:
            self.classified.emit(result)

    # ---- the job (worker thread) ------------------------------------------------------------
    def _classify(self, _request, *, on_progress, cancel: CancelToken) -> None:
        reader = self.ring.reader()
        while not cancel.cancelled:
            if self._pending_stream:
                with self._pending_lock:
                    self._stream = self._pending_stream.pop()
                    self._pending_stream.clear()
                reader = self.ring.reader()
            self.source.check()           # AudioDeviceError when the device vanished: ``failed``
            if self._stream is not None:
                for result in self._stream.step(reader):
                    self._result_ready.emit(result)
                    if cancel.cancelled:
                        return
            else:
                reader.cursor = self.ring.total_written
            cancel.wait(self.poll_s)
