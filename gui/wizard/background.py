"""Run a page's slow work off the GUI thread: split previews, augmentation previews, warm-up.

Each job has a ``kind``; only the latest submitted job of a kind is delivered (a person
who changes a setting twice sees the second result, never the first arriving late).
Results arrive through ``delivered(kind, value)`` or ``failed(kind, message)`` in the GUI
thread. Jobs are :class:`~gui.workers.job_worker.JobWorker` s: the trainer's operations run
in the wizard's training process (``TrainSession.trainer``), so torch never loads in the
app's process. ``shutdown`` cancels and joins every job within one time limit; a job still
running after it stays referenced by the registry until it ends.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Signal

from engine.errors import EarmarkError
from gui.workers.job_worker import JobWorker, call_job
from gui.workers.registry import workers


class Refused(EarmarkError):
    """A ValueError of a job: the person chose something impossible (shown by its message)."""


def refusing(job: Callable[..., Any]) -> Callable[..., Any]:
    """``job`` with its ValueError turned into a message for the page (not a bug's report)."""

    def guarded(request, *, on_progress, cancel):
        try:
            return job(request, on_progress=on_progress, cancel=cancel)
        except ValueError as exc:
            raise Refused(str(exc)) from exc

    return guarded


class BackgroundJobs(QObject):
    delivered = Signal(str, object)
    failed = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workers: list[JobWorker] = []
        self._latest: dict[str, int] = {}
        self._pending: dict[str, int] = {}

    def submit(self, kind: str, fn: Callable[[], object], *, what: str = "The task") -> JobWorker:
        """Run the no-argument ``fn`` in a thread (see :meth:`submit_job`)."""
        return self.submit_job(kind, call_job(fn), None, what=what)

    def submit_job(self, kind: str, job: Callable[..., Any], request: Any = None, *,
                   what: str = "The task") -> JobWorker:
        """Run ``job(request, *, on_progress, cancel)``. What it raises is delivered as ``failed``:
        an EarmarkError or a ValueError by its message, anything else with its type (logged)."""
        self._prune()
        generation = self._latest.get(kind, 0) + 1
        self._latest[kind] = generation
        self._pending[kind] = generation
        worker = JobWorker(refusing(job), request, what=what, owner=self)
        worker.finished.connect(partial(self._on_worker_finished, kind, generation))
        worker.failed.connect(partial(self._on_worker_failed, kind, generation))
        worker.cancelled.connect(partial(self._on_worker_cancelled, kind, generation))
        self._workers.append(worker)
        return worker.start()

    def busy(self, kind: str | None = None) -> bool:
        """Whether a job (of ``kind``) has not delivered its result yet."""
        return bool(self._pending) if kind is None else kind in self._pending

    def cancel(self) -> None:
        """Cancel every job; nothing more is delivered."""
        self._latest = {k: g + 1 for k, g in self._latest.items()}
        self._pending.clear()
        for worker in self._workers:
            worker.cancel()

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Cancel and join every job, all within ``timeout_s``; True when all ended."""
        self.cancel()
        still = workers.join(timeout_s, owner=self)
        self._prune()
        return not still

    def _prune(self) -> None:   # kept until delivered (the outcome comes after the thread ends)
        self._workers = [w for w in self._workers if w.outcome is None]

    # ---- worker -> GUI thread --------------------------------------------------------------------
    def _current(self, kind: str, generation: int) -> bool:
        if self._latest.get(kind) != generation:
            return False
        self._pending.pop(kind, None)
        return True

    def _on_worker_finished(self, kind: str, generation: int, value) -> None:
        if self._current(kind, generation):
            self.delivered.emit(kind, value)

    def _on_worker_failed(self, kind: str, generation: int, message: str) -> None:
        if self._current(kind, generation):
            self.failed.emit(kind, message)

    def _on_worker_cancelled(self, kind: str, generation: int, _message: str) -> None:
        self._current(kind, generation)
