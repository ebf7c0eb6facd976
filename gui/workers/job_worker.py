"""The one Qt adapter for an ``engine.jobs`` job: run it in a QThread, report with past-tense signals.

``JobWorker(fn, request)`` runs ``fn(request, *, on_progress, cancel)`` (the contract of
:mod:`engine.jobs`) in a thread of its own and ends with exactly one of

- ``finished(result)`` — the job returned,
- ``failed(message)`` — it raised an ``EarmarkError`` (its message) or a bug (logged),
- ``cancelled(message)`` — it raised ``Cancelled`` after :meth:`JobWorker.cancel`,

then ``ended()``. ``progressed(Progress)`` comes before, at most about 10 times a second
(superqt's throttler), except reports that must not be lost: a new stage, warnings or
metrics pass at once, in order.

``JobWorker("trainer.api:train", request, runner=runner)`` runs the job named by its import
path in ``runner``'s child process (:class:`engine.jobs.process.ProcessRunner`): the same
signals, the thread only waits for the child, so torch never runs in the app's process.

Every signal is emitted in the GUI thread: the job's thread only posts queued events to
this object, and the outcome is emitted after the thread has ended, so a slot may drop
the worker. Every started worker is kept in :data:`gui.workers.registry.workers` until its
thread has ended: a QThread is never destroyed while it runs, whatever its owner does.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot
from superqt.utils import qthrottled

from engine.jobs import CancelToken, JobOutcome, Progress, run_job
from engine.jobs.process import ProcessRunner
from gui.workers.registry import workers

THROTTLE_MS = 100      # progress reaches the GUI about 10 times a second
_ENDING: set[JobWorker] = set()   # delivering their outcome: alive until that event is over


def is_important(progress: Progress, previous: Progress | None) -> bool:
    """Reports a person (or a curve) must see even when they come fast."""
    return (previous is None or progress.stage != previous.stage or bool(progress.warnings)
            or bool(progress.metrics) or progress.stage == "done")


class _JobThread(QThread):
    """Runs the job; talks to the GUI thread only through the queued ``reported`` signal."""

    reported = Signal()

    def __init__(self, worker: JobWorker) -> None:
        super().__init__()  # no parent: the registry, not a widget, decides when it may go
        self._fn, self._request, self._what = worker.fn, worker.request, worker.what
        self.token = worker.token
        self.outcome: JobOutcome | None = None
        self.lock = threading.Lock()
        self.important: deque[Progress] = deque()
        self.latest: Progress | None = None
        self._previous: Progress | None = None
        self._posted = False

    def run(self) -> None:  # the job's thread
        self.outcome = run_job(self._fn, self._request, on_progress=self._on_progress, cancel=self.token,
                               what=self._what)

    def _on_progress(self, progress: Progress) -> None:  # the job's thread: coalesce, post at most one event
        with self.lock:
            if is_important(progress, self._previous):
                self.important.append(progress)
                self.latest = None                       # older than what was just queued
            else:
                self.latest = progress
            self._previous = progress
            if self._posted:
                return
            self._posted = True
        self.reported.emit()

    def take_reports(self) -> tuple[list[Progress], Progress | None]:
        with self.lock:
            important, latest = list(self.important), self.latest
            self.important.clear()
            self.latest, self._posted = None, False
        return important, latest


class JobWorker(QObject):
    """Run one job off the GUI thread. ``start()`` once; ``cancel()``, ``wait(s)``, ``close(s)``."""

    progressed = Signal(object)   # engine.jobs.Progress
    finished = Signal(object)     # the job's result
    failed = Signal(str)
    cancelled = Signal(str)
    ended = Signal()              # after any of the three, once the thread has ended

    def __init__(self, fn: Callable[..., Any] | str, request: Any = None, *, what: str = "The job",
                 owner: object | None = None, confirm_quit: bool = False, throttle_ms: int = THROTTLE_MS,
                 runner: ProcessRunner | None = None, cancel_grace_s: float | None = None) -> None:
        super().__init__()  # no parent on purpose: a widget's death must never take a running thread with it
        if isinstance(fn, str):       # a job named by its import path: run in the runner's child process
            if runner is None:
                raise TypeError(f"{what}: a job named {fn!r} needs a runner (engine.jobs.process.ProcessRunner)")
            fn = runner.job(fn, cancel_grace_s=cancel_grace_s)
        self.runner = runner
        self.fn, self.request, self.what, self.owner = fn, request, what, owner
        self.confirm_quit = confirm_quit    # quitting while it runs throws work away: the window asks
        self.token = CancelToken()
        self.outcome: JobOutcome | None = None
        self._thread: _JobThread | None = None
        self._delivered = False
        self._emit_throttled = qthrottled(self._emit_progress, timeout=throttle_ms, leading=True, parent=self)

    # ---- GUI thread -----------------------------------------------------------------------------
    def start(self) -> JobWorker:
        if self._thread is not None:
            raise RuntimeError(f"{self.what}: a JobWorker runs once; make a new one")
        thread = self._thread = _JobThread(self)
        thread.reported.connect(self._on_thread_reported, Qt.ConnectionType.QueuedConnection)
        thread.finished.connect(self._on_thread_finished, Qt.ConnectionType.QueuedConnection)
        workers.add(self)
        thread.start()
        return self

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def isRunning(self) -> bool:  # noqa: N802 - QThread's spelling, for callers written against one
        return self.is_running()

    def isFinished(self) -> bool:  # noqa: N802
        return self._thread is not None and self._thread.isFinished()

    def cancel(self) -> None:
        """Ask the job to stop; it checks the token at least once a second."""
        self.token.cancel()

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the thread at most ``timeout_s`` (None: forever); True when it has ended."""
        if self._thread is None:
            return True
        timeout_s = workers.clamp(timeout_s)   # inside a window's closing deadline, never past it
        if timeout_s is None:
            return bool(self._thread.wait())
        return bool(self._thread.wait(max(0, int(timeout_s * 1000))))

    def wait(self, timeout_s: float | None = None) -> bool:
        """:meth:`join` (seconds, as the wizard's TrainWorker counts them)."""
        return self.join(timeout_s)

    def close(self, timeout_s: float = 5.0) -> bool:
        """Cancel and join with a time limit. A job still running after it stays referenced by the
        registry until its thread ends (never destroyed while running); False says so."""
        self.cancel()
        return self.join(timeout_s)

    # ---- events posted by the job's thread (GUI thread) -----------------------------------------------
    @Slot()
    def _on_thread_reported(self) -> None:
        if self._thread is None:
            return
        important, latest = self._thread.take_reports()
        if important:
            self._emit_throttled.cancel()        # a pending older report must not come after these
            for progress in important:
                self.progressed.emit(progress)
        if latest is not None:
            self._emit_throttled(latest)

    def _emit_progress(self, progress: Progress) -> None:
        self.progressed.emit(progress)

    @Slot()
    def _on_thread_finished(self) -> None:
        thread = self._thread
        if thread is None or self._delivered:
            return
        thread.wait()  # finished() is emitted just before the thread really ends: let it
        self._on_thread_reported()
        self._emit_throttled.flush()
        self._delivered = True
        self.outcome = outcome = thread.outcome or JobOutcome("failed", message=f"{self.what} ended without a result")
        # the registry lets go now; a slot below may drop the last other reference, so keep this
        # object alive until the event that is delivering to it is over (never deleted in its own slot)
        _ENDING.add(self)
        QTimer.singleShot(0, lambda w=self: _ENDING.discard(w))
        workers.discard(self)
        self._deliver(outcome)

    def _deliver(self, outcome: JobOutcome) -> None:
        if outcome.status == "finished":
            self.finished.emit(outcome.value)
        elif outcome.status == "cancelled":
            self.cancelled.emit(outcome.message)
        else:
            self.failed.emit(outcome.message)
        self.ended.emit()


def start_job(fn: Callable[..., Any] | str, request: Any = None, *, what: str = "The job",
              owner: object | None = None, confirm_quit: bool = False, on_finished=None, on_failed=None,
              on_cancelled=None, on_progress=None, runner: ProcessRunner | None = None) -> JobWorker:
    """Make, connect and start a :class:`JobWorker` in one call."""
    worker = JobWorker(fn, request, what=what, owner=owner, confirm_quit=confirm_quit, runner=runner)
    for signal, slot in ((worker.finished, on_finished), (worker.failed, on_failed),
                         (worker.cancelled, on_cancelled), (worker.progressed, on_progress)):
        if slot is not None:
            signal.connect(slot)
    return worker.start()


def call_job(fn: Callable[[], Any]) -> Callable[..., Any]:
    """A no-argument function as a job (for short work that cannot be interrupted midway)."""

    def job(_request, *, on_progress, cancel: CancelToken):
        cancel.raise_if_cancelled()
        return fn()

    return job
