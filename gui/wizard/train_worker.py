"""Runs a training plan on a QThread: past-tense signals, progress throttled to about 10 Hz.

The plan (``gui.wizard.plan.TrainPlan``) is Qt-free and calls ``trainer.api.train``; this
worker only moves it off the GUI thread. Signals are emitted from the worker thread
on an object living in the GUI thread, so every connected slot runs in the GUI thread
(queued connections) and may touch widgets. ``close`` cancels and joins with a limit.
"""

from __future__ import annotations

import time
import traceback
from typing import Any, Protocol

from PySide6.QtCore import QObject, QThread, Signal

from engine.errors import EarmarkError
from engine.jobs import Cancelled, CancelToken
from gui.workers.registry import workers

THROTTLE_S = 0.1                    # progress reaches the GUI at most ~10 times a second
IMPORTANT_STAGES = ("done", "export", "evaluate")
_STILL_STOPPING: set[TrainWorker] = set()   # workers past their join limit: kept alive until they end


class Plan(Protocol):
    def execute(self, *, on_progress, cancel) -> Any: ...


class _JobThread(QThread):
    def __init__(self, target, parent=None) -> None:
        super().__init__(parent)
        self._target = target

    def run(self) -> None:  # the worker thread
        self._target()


class TrainWorker(QObject):
    """``start()`` runs ``plan.execute`` in a thread. Signals: progressed(Progress),
    finished(result), failed(message), cancelled(message)."""

    progressed = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal(str)

    def __init__(self, plan: Plan, *, throttle_s: float = THROTTLE_S, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.plan = plan
        self.throttle_s = throttle_s
        self._thread: _JobThread | None = None
        self._token = None
        self._last_emit = 0.0
        self._last_stage = ""

    # ---- GUI thread ---------------------------------------------------------------------------
    def start(self) -> None:
        if self.is_running():
            raise RuntimeError("this training worker is already running")
        self._token = CancelToken()
        self._thread = _JobThread(self._run)
        self._thread.start()
        workers.add(self, what="Training", confirm=True)  # closing the main window asks, cancels and joins it

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def cancel(self) -> None:
        """Ask the job to stop; it checks the token at least once a second."""
        if self._token is not None:
            self._token.cancel()

    def wait(self, timeout_s: float) -> bool:
        """Join the thread for at most ``timeout_s``; True when it has ended."""
        if self._thread is None:
            return True
        return bool(self._thread.wait(int(timeout_s * 1000)))

    def close(self, timeout_s: float = 10.0) -> bool:
        """Cancel and join with a time limit (called when the wizard closes).

        A worker still running after ``timeout_s`` is kept referenced until its thread ends,
        so Qt never destroys a running thread.
        """
        self.cancel()
        ended = self.wait(timeout_s)
        if not ended and self._thread is not None:
            self.setParent(None)
            _STILL_STOPPING.add(self)
            self._thread.finished.connect(lambda: _STILL_STOPPING.discard(self))
        return ended

    # ---- worker thread ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            result = self.plan.execute(on_progress=self._on_progress, cancel=self._token)
        except Cancelled as exc:
            self.cancelled.emit(str(exc) or "training was cancelled")
        except EarmarkError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - any failure reaches the page that started the job
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            self.failed.emit(detail)
        else:
            self.finished.emit(result)

    def _on_progress(self, progress) -> None:
        now = time.monotonic()
        important = (progress.stage != self._last_stage or progress.stage in IMPORTANT_STAGES
                     or "val_loss" in (progress.metrics or {}))
        if important or now - self._last_emit >= self.throttle_s:
            self._last_emit, self._last_stage = now, progress.stage
            self.progressed.emit(progress)
