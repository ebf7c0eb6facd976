"""The one contract for long work, free of Qt and torch.

A job is a plain function ``job(request, *, on_progress, cancel) -> result``:

- ``on_progress(Progress)`` is called from the job's own thread as often as the job
  likes; whoever adapts the job (the command line, ``gui.workers.job_worker``)
  throttles what reaches a person.
- ``cancel`` is a :class:`CancelToken`; the job checks it at least once a second and
  raises :class:`Cancelled` (``cancel.raise_if_cancelled()``), keeping what it saved.
- Errors the person should read are :class:`engine.errors.EarmarkError`; anything
  else is a bug. :func:`run_job` turns all three endings into a :class:`JobOutcome`
  value, so a caller never needs its own try/except ladder.

Training, cross-validation, cache building, audit ranking, augmentation previews,
model probing and long file loads all follow it (napari's and superqt's workers are
the model: one progress/cancel protocol, past-tense endings).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from engine.errors import EarmarkError

__all__ = ["CancelToken", "Cancelled", "Job", "JobOutcome", "JobWarning", "Progress", "run_job",
           "ignore_progress"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class JobWarning:
    """Something the person should know that does not stop the job (a skipped file, a
    small split). ``code`` is stable for tests and filters; ``message`` is for people."""

    code: str
    message: str


@dataclass(frozen=True)
class Progress:
    """One report of a job's progress. ``step``/``total`` count the current stage's units
    (``total`` 0: unknown); ``fraction`` is the whole job's share done, when the job knows."""

    stage: str
    step: int = 0
    total: int = 0
    message: str = ""
    fraction: float | None = None
    warnings: tuple[JobWarning, ...] = ()
    epoch: int | None = None
    seed: int | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    eta_s: float | None = None

    @property
    def stage_fraction(self) -> float | None:
        """The current stage's share done, from ``step``/``total``; None when unknown."""
        return min(1.0, self.step / self.total) if self.total > 0 else None


class Cancelled(Exception):
    """The job was cancelled; whatever it had saved (checkpoints, caches) is kept. Not an
    ``EarmarkError``: a cancel is the person's wish, never shown as a failure."""


class CancelToken:
    """Thread-safe cancellation flag. Jobs call ``raise_if_cancelled`` at least once a
    second; ``wait`` lets a job sleep and still wake at once on cancel."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def is_set(self) -> bool:  # threading.Event's spelling, for code written against an Event
        return self._event.is_set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Sleep until cancelled or ``timeout_s`` passed; True when cancelled."""
        return self._event.wait(timeout_s)

    def raise_if_cancelled(self, what: str = "the job") -> None:
        if self._event.is_set():
            raise Cancelled(f"{what} was cancelled")


def ignore_progress(_progress: Progress) -> None:
    """The default ``on_progress``: a caller that does not want reports."""


class Job(Protocol[T]):
    def __call__(self, request: Any, *, on_progress: Callable[[Progress], None],
                 cancel: CancelToken) -> T: ...


@dataclass(frozen=True)
class JobOutcome(Generic[T]):
    """How a job ended: ``finished`` with a ``value``, ``cancelled`` or ``failed`` with a
    ``message`` a person can read (and, for bugs, the exception for the log)."""

    status: Literal["finished", "cancelled", "failed"]
    value: T | None = None
    message: str = ""
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.status == "finished"


def run_job(job: Callable[..., T], request: Any, *, on_progress: Callable[[Progress], None] = ignore_progress,
            cancel: CancelToken | None = None, what: str = "The job") -> JobOutcome[T]:
    """Run ``job`` in the calling thread and return how it ended; never raises for the
    job's own errors. Unexpected exceptions are logged with their traceback."""
    cancel = cancel or CancelToken()
    try:
        value = job(request, on_progress=on_progress, cancel=cancel)
    except Cancelled as exc:
        return JobOutcome("cancelled", message=str(exc) or f"{what} was cancelled", error=exc)
    except EarmarkError as exc:
        return JobOutcome("failed", message=str(exc), error=exc)
    except Exception as exc:  # noqa: BLE001 - a bug: logged with its traceback, reported as a value
        log.exception("%s failed", what)
        return JobOutcome("failed", message=f"{what} failed: {type(exc).__name__}: {exc}", error=exc)
    return JobOutcome("finished", value=value)
