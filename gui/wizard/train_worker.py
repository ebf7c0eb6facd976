"""Runs a training plan through the one worker adapter, in the wizard's training process.

The plan (``gui.wizard.plan.TrainPlan``) is Qt-free and calls ``trainer.api.train``; here
that call runs in the session's :class:`~engine.jobs.process.ProcessRunner` (the warm child
that loaded torch), and this worker's thread only waits for it. ``TrainWorker`` is a
:class:`~gui.workers.job_worker.JobWorker`: ``progressed(Progress)`` at most about 10 times a
second (a new stage, warnings and metrics always pass), then ``finished(result)``,
``failed(message)`` or ``cancelled(message)`` in the GUI thread; registered (closing the main
window asks first) until its thread ends; ``close`` cancels and joins with a limit.
"""

from __future__ import annotations

from typing import Any, Protocol

from engine.jobs.process import ProcessRunner
from gui.workers.job_worker import THROTTLE_MS, JobWorker

THROTTLE_S = THROTTLE_MS / 1000
CLOSE_TIMEOUT_S = 10.0


class Plan(Protocol):
    def execute(self, *, on_progress, cancel, train=None) -> Any: ...


def plan_job(plan: Plan, runner: ProcessRunner | None):
    """The job that runs ``plan``: its ``trainer.api.train`` call goes to ``runner``'s process."""
    extra = {"train": runner.job("trainer.api:train")} if runner is not None else {}

    def job(_request, *, on_progress, cancel):
        return plan.execute(on_progress=on_progress, cancel=cancel, **extra)

    return job


class TrainWorker(JobWorker):
    """``start()`` runs ``plan.execute`` (its training in the training process). Signals:
    progressed(Progress), finished(result), failed(message), cancelled(message), ended()."""

    def __init__(self, plan: Plan, *, throttle_s: float = THROTTLE_S, parent=None,
                 runner: ProcessRunner | None = None) -> None:
        # parent is accepted and ignored: a running worker belongs to the registry, never to a widget
        if runner is None:
            runner = getattr(getattr(plan, "session", None), "trainer", None)
        super().__init__(plan_job(plan, runner), None, what="Training", owner=parent, confirm_quit=True,
                         throttle_ms=int(throttle_s * 1000))
        self.plan = plan

    def start(self) -> TrainWorker:
        if self.is_running():
            raise RuntimeError("this training worker is already running")
        super().start()
        return self

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
        """Cancel and join with a time limit (called when the wizard closes). A worker still
        running after it stays referenced by the registry until its thread ends."""
        return super().close(timeout_s)
