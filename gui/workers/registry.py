"""Every background worker of the app, so that stopping a view or closing the window can cancel and
join them all with one time limit, and so that no running QThread is ever destroyed.

A worker is anything with ``cancel()``, ``join(timeout_s) -> bool`` (or ``wait(timeout_s)``) and
``is_running()``
(:class:`gui.workers.job_worker.JobWorker` registers itself; the wizard's ``TrainWorker``
registers on start). The registry holds a strong reference until the worker's thread has
ended: whoever started it may drop it at any time, a widget that owned it may be deleted,
and the thread still ends in peace. Used from the GUI thread only.
"""

from __future__ import annotations

import logging
import math
import time
from contextlib import contextmanager
from typing import Protocol

log = logging.getLogger(__name__)
ANY = object()          # owner filter: every worker


class Worker(Protocol):
    def cancel(self) -> None: ...
    def join(self, timeout_s: float | None = None) -> bool: ...   # or wait(timeout_s), in seconds
    def is_running(self) -> bool: ...


class WorkerRegistry:
    def __init__(self) -> None:
        self._entries: dict[int, tuple[Worker, str, object]] = {}
        self._confirm: set[int] = set()
        self._deadline: float | None = None

    def add(self, worker: Worker, *, what: str | None = None, owner: object | None = None,
            confirm: bool | None = None) -> None:
        """Keep ``worker`` referenced until its thread ends. ``owner``: the view that may stop it;
        ``confirm``: quitting while it runs throws work away, so the window asks first."""
        what = what or getattr(worker, "what", None) or type(worker).__name__
        owner = getattr(worker, "owner", None) if owner is None else owner
        self._entries[id(worker)] = (worker, what, owner)
        if confirm if confirm is not None else getattr(worker, "confirm_quit", False):
            self._confirm.add(id(worker))
        else:
            self._confirm.discard(id(worker))

    def discard(self, worker: Worker) -> None:
        """Forget ``worker`` (its thread has ended)."""
        entry = self._entries.get(id(worker))
        if entry is not None and entry[0] is worker and not _running(worker):
            self._forget(id(worker))

    def _forget(self, key: int) -> None:
        del self._entries[key]
        self._confirm.discard(key)

    def running(self, owner: object = ANY) -> list[Worker]:
        """The workers whose thread still runs (ended ones are forgotten here)."""
        for key, (worker, _what, _owner) in list(self._entries.items()):
            if not _running(worker):
                self._forget(key)
        return [w for w, _what, o in self._entries.values() if owner is ANY or o is owner]

    def what(self, worker: Worker) -> str:
        entry = self._entries.get(id(worker))
        return entry[1] if entry else getattr(worker, "what", type(worker).__name__)

    def describe(self, owner: object = ANY, *, confirm_only: bool = False) -> str:
        """"Training, Ranking suspects": what runs, for a status bar or a question."""
        names = []
        for worker in self.running(owner):
            if confirm_only and id(worker) not in self._confirm:
                continue
            if (name := self.what(worker)) not in names:
                names.append(name)
        return ", ".join(names)

    def cancel_all(self, owner: object = ANY) -> None:
        for worker in self.running(owner):
            worker.cancel()

    @contextmanager
    def deadline(self, timeout_s: float):
        """Every join inside (a JobWorker's or the registry's) ends by one shared deadline: closing the
        window waits ``timeout_s`` in all, not a sum of each view's own limit."""
        outer = self._deadline
        self._deadline = time.monotonic() + max(0.0, timeout_s)
        try:
            yield
        finally:
            self._deadline = outer

    def clamp(self, timeout_s: float | None) -> float | None:
        """``timeout_s`` cut to what is left of the current :meth:`deadline` (None: no limit)."""
        if self._deadline is None:
            return timeout_s
        left = max(0.0, self._deadline - time.monotonic())
        return left if timeout_s is None else min(timeout_s, left)

    def join(self, timeout_s: float, owner: object = ANY) -> list[Worker]:
        """Wait for the running workers, all within one ``timeout_s``; the ones still running after it."""
        timeout_s = self.clamp(timeout_s)
        deadline = time.monotonic() + (max(0.0, timeout_s) if timeout_s is not None else math.inf)
        for worker in self.running(owner):
            join = getattr(worker, "join", None) or worker.wait
            join(max(0.0, deadline - time.monotonic()))
        still = self.running(owner)
        if timeout_s > 0:  # a zero timeout only polls (the window waiting for an overrun): no log
            for worker in still:
                log.warning("%s did not stop within %.1f s; it is kept until it ends", self.what(worker), timeout_s)
        return still

    def stop(self, timeout_s: float, owner: object = ANY) -> list[Worker]:
        """Cancel, then join with a time limit; returns the workers that overran (still referenced)."""
        self.cancel_all(owner)
        return self.join(timeout_s, owner)

    def __len__(self) -> int:
        return len(self.running())


def _running(worker: Worker) -> bool:
    try:
        return bool(worker.is_running())
    except RuntimeError:  # its C++ object is gone, so is its thread
        return False


workers = WorkerRegistry()
"""The app's registry (one per process)."""
