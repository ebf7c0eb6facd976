"""Jobs for tests/engine/jobs/test_process_jobs.py, imported by name in the child process."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

import numpy as np

from engine.errors import AudioLoadError, EarmarkError
from engine.jobs import JobWarning, Progress


@dataclass(frozen=True)
class Request:
    n: int = 3
    path: str = ""


class WeirdError(EarmarkError):
    """An error whose constructor does not take its message (pickle cannot rebuild it)."""

    def __init__(self, path: str, *, reason: str) -> None:
        super().__init__(f"{path}: {reason}")


def pid(request, *, on_progress, cancel) -> int:
    return os.getpid()


def modules(request, *, on_progress, cancel) -> list[str]:
    import sys

    return sorted(sys.modules)


def arrays(request: Request, *, on_progress, cancel):
    for i in range(request.n):
        on_progress(Progress("count", i + 1, request.n, f"step {i + 1}",
                             warnings=(JobWarning("w", "a warning"),) if i == 0 else (), metrics={"loss": 1.0 / (i + 1)}))
    return {"samples": np.arange(request.n, dtype=np.float32), "pid": os.getpid()}


def until_cancelled(request, *, on_progress, cancel):
    on_progress(Progress("wait", message="waiting for cancel"))
    while not cancel.wait(0.05):
        pass
    cancel.raise_if_cancelled("waiting")


def deaf(request, *, on_progress, cancel):
    on_progress(Progress("deaf", message="never looks at the token"))
    time.sleep(60)


def bad_file(request: Request, *, on_progress, cancel):
    raise AudioLoadError(f"{request.path}: not a WAV file")


def weird(request: Request, *, on_progress, cancel):
    raise WeirdError(request.path, reason="has no samples")


def value_error(request, *, on_progress, cancel):
    raise ValueError("choose two classes at least")


def unpicklable_result(request, *, on_progress, cancel):
    return lambda: None


def segfault(request, *, on_progress, cancel):
    on_progress(Progress("crash"))
    time.sleep(0.2)
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(10)


def killed(request, *, on_progress, cancel):
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(10)


def with_a_pool(request, *, on_progress, cancel) -> list[int]:
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:   # as cleanlab's find_label_issues does
        return pool.map(abs, [-1, -2])


def start_method(request, *, on_progress, cancel) -> str:
    import multiprocessing

    return multiprocessing.get_start_method()
