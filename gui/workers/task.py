"""``TaskWorker``: a plain no-argument function on the one worker adapter, with the QThread-style
API that older callers were written against.

New code uses :class:`gui.workers.job_worker.JobWorker` with :func:`~gui.workers.job_worker.call_job`.
This adapter keeps ``completed(result)``, ``failed(message)`` and a no-argument ``finished()``
(the thread has ended), ``wait``/``close`` in milliseconds, ``isRunning``/``isFinished``. It is
a JobWorker underneath: registered until its thread ends, signals in the GUI thread, never
destroyed while running (``parent`` is accepted and ignored for that reason).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal

from engine.jobs import JobOutcome
from gui.workers.job_worker import JobWorker, call_job


class TaskWorker(JobWorker):
    """``completed(result)`` or ``failed(message)``, then ``finished()``; all in the GUI thread."""

    completed = Signal(object)
    finished = Signal()          # the QThread meaning: the thread has ended (whatever the outcome)

    def __init__(self, fn: Callable[[], object], *, what: str = "The task", parent=None,
                 owner: object | None = None) -> None:
        super().__init__(call_job(fn), what=what, owner=owner if owner is not None else parent)

    def _deliver(self, outcome: JobOutcome) -> None:
        if outcome.status == "finished":
            self.completed.emit(outcome.value)
        elif outcome.status == "failed":
            self.failed.emit(outcome.message)
        else:
            self.cancelled.emit(outcome.message)
        self.finished.emit()
        self.ended.emit()

    def wait(self, timeout_ms: int | None = None) -> bool:  # QThread.wait: milliseconds
        return self.join(None if timeout_ms is None else timeout_ms / 1000)

    def close(self, timeout_ms: int = 5000) -> bool:
        """Wait for the function to return (it cannot be interrupted once running); True when it did."""
        self.cancel()
        return self.join(timeout_ms / 1000)
