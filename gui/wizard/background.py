"""Run a page's slow, Qt-free work off the GUI thread: split previews, augmentation previews, warm-up.

Each job has a ``kind``; only the latest submitted job of a kind is delivered (a person
who changes a setting twice sees the second result, never the first arriving late).
Results arrive through ``delivered(kind, value)`` or ``failed(kind, message)`` in the GUI
thread. ``shutdown`` joins every thread with a time limit; a thread still running after it
is kept referenced until it ends, so Qt never destroys a running thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from engine.errors import EarmarkError
from gui.workers.task import TaskWorker

log = logging.getLogger(__name__)

_STILL_RUNNING: set[TaskWorker] = set()    # past their join limit: kept alive until they end


class BackgroundJobs(QObject):
    delivered = Signal(str, object)
    failed = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workers: list[TaskWorker] = []
        self._latest: dict[str, int] = {}
        self._pending: dict[str, int] = {}

    def submit(self, kind: str, fn: Callable[[], object], *, what: str = "The task") -> None:
        """Run ``fn`` in a thread. What it raises is delivered as ``failed``: an EarmarkError or a
        ValueError by its message (the person chose something impossible), anything else with
        its type, the traceback logged."""
        self._prune()
        generation = self._latest.get(kind, 0) + 1
        self._latest[kind] = generation
        self._pending[kind] = generation

        def call():
            try:
                return kind, generation, True, fn()
            except (ValueError, EarmarkError) as exc:
                return kind, generation, False, str(exc)
            except Exception as exc:  # noqa: BLE001 - shown inline, logged with its traceback
                log.exception("%s failed", what)
                return kind, generation, False, f"{what} failed: {type(exc).__name__}: {exc}"

        worker = TaskWorker(call, what=what)
        worker.completed.connect(self._on_worker_completed)
        self._workers.append(worker)
        worker.start()

    def busy(self, kind: str | None = None) -> bool:
        """Whether a job (of ``kind``) has not delivered its result yet."""
        return bool(self._pending) if kind is None else kind in self._pending

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Join every thread (at most ``timeout_s`` each); True when all ended."""
        self._latest = {k: g + 1 for k, g in self._latest.items()}     # nothing more is delivered
        self._pending.clear()
        ended = True
        for worker in self._workers:
            if not worker.wait(int(timeout_s * 1000)):
                ended = False
                _STILL_RUNNING.add(worker)
                worker.finished.connect(lambda w=worker: _STILL_RUNNING.discard(w))
        self._workers = [w for w in self._workers if w.isRunning()]
        return ended

    def _prune(self) -> None:
        for worker in [w for w in self._workers if w.isFinished()]:
            worker.wait()
            self._workers.remove(worker)

    # ---- worker -> GUI thread --------------------------------------------------------------------
    def _on_worker_completed(self, result) -> None:
        kind, generation, ok, value = result
        if self._latest.get(kind) != generation:
            return
        self._pending.pop(kind, None)
        if ok:
            self.delivered.emit(kind, value)
        else:
            self.failed.emit(kind, value)
