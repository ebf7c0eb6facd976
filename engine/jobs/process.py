"""Run :mod:`engine.jobs` jobs in a long-lived child process, with the same contract.

The app's window must never wait for torch: importing it and its first calls hold the GIL
for up to a second at a time, which froze the window even from a worker thread. So the
trainer's jobs run in another process::

    runner = ProcessRunner("the training process")
    env = runner.call("trainer.api:warm_up", None, on_progress=report, cancel=token)
    job = runner.job("trainer.api:train")          # a job function: job(request, *, on_progress, cancel)

- The child is started with the ``spawn`` context (never ``fork``: forking a process with Qt,
  ONNX Runtime or audio threads copies locks that are held) and stays warm: the second job
  does not pay torch's import again. Jobs run in threads of the child, so a split preview
  need not wait for the warm-up.
- A job is named by its import path (``"package.module:function"``): this module imports
  neither torch nor the trainer. Requests and results cross by pickle (dataclasses, numpy
  arrays); the child sends each :class:`~engine.jobs.Progress` back to ``on_progress``.
- ``cancel`` is forwarded as a message; the child's own :class:`~engine.jobs.CancelToken`
  fires and the job raises :class:`~engine.jobs.Cancelled`. A job that ignores it longer than
  ``cancel_grace_s`` is ended with its process (the next call starts a fresh one).
- An exception in the child is raised again in the caller: the same type with the same
  message (the child's traceback is added as a note). A child that dies (a segfault, the
  kernel's out-of-memory kill) fails its jobs with :class:`JobProcessDied`, never a hang.
- :meth:`ProcessRunner.stop` asks the child to quit, then terminates it after the time
  limit, then kills it.
"""

from __future__ import annotations

import atexit
import importlib
import itertools
import logging
import multiprocessing
import multiprocessing.util  # its exit handler first, so that ours (registered later) runs before it
import os
import pickle
import queue
import signal
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from typing import Any

from engine.errors import EarmarkError
from engine.jobs import Cancelled, CancelToken, Progress, ignore_progress

__all__ = ["JobProcessDied", "ProcessRunner", "call_function", "import_job"]

log = logging.getLogger(__name__)
POLL_S = 0.05                 # how often a waiting call looks at its cancel token
CANCEL_GRACE_S = 5.0          # a cancelled job that runs on longer is ended with its process
START_TIMEOUT_S = 120.0       # a child that never says it is ready (a broken interpreter)


class JobProcessDied(EarmarkError):
    """The job's process ended before the job did (a crash, or killed for memory)."""


def import_job(target: str) -> Callable[..., Any]:
    """The function named ``"package.module:function"`` (or ``"package.module.function"``)."""
    module_name, sep, attr = target.partition(":")
    if not sep:
        module_name, _, attr = target.rpartition(".")
    if not module_name or not attr:
        raise ValueError(f"a job is named 'package.module:function', not {target!r}")
    return getattr(importlib.import_module(module_name), attr)


def describe_exit(exitcode: int | None) -> str:
    """``killed by SIGKILL (…)`` / ``exited with status 3`` for a child's exit code."""
    if exitcode is None:
        return "stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = {"SIGKILL": " (the system may have run out of memory)", "SIGSEGV": " (a crash in native code)",
                "SIGABRT": " (a crash in native code)"}.get(name, "")
        return f"was killed by {name}{hint}"
    return f"exited with status {exitcode}"


def call_function(request: tuple[str, tuple, dict], *, on_progress, cancel) -> Any:
    """A plain function as a job: ``request`` is (import path, args, kwargs). For quick queries
    (``ProcessRunner.call_function``) that must run where the job process's modules are."""
    target, args, kwargs = request
    cancel.raise_if_cancelled()
    return import_job(target)(*args, **kwargs)


# ---- the child --------------------------------------------------------------------------------------
def _child_main(conn, preload: tuple[str, ...]) -> None:
    """The child's main thread: read messages, run each job in a thread of its own."""
    send_lock = threading.Lock()
    tokens: dict[int, CancelToken] = {}
    threads: list[threading.Thread] = []

    def send(message) -> bool:
        try:
            with send_lock:
                conn.send(message)
            return True
        except (pickle.PicklingError, TypeError, AttributeError) as exc:   # what could not be pickled
            log.warning("job process: could not send %s: %s", message[0], exc)
            return False
        except OSError:      # the parent is gone
            return False

    def run(job_id: int, target: str, request) -> None:
        token = tokens[job_id]

        def on_progress(progress) -> None:
            send(("progress", job_id, progress))

        try:
            fn = import_job(target)
            value = fn(request, on_progress=on_progress, cancel=token)
        except Cancelled as exc:
            send(("cancelled", job_id, str(exc)))
        except BaseException as exc:  # noqa: BLE001 - every ending goes back to the caller as a value
            _send_error(send, job_id, exc)
        else:
            if not send(("done", job_id, value)):
                _send_error(send, job_id, TypeError(f"the result of {target} ({type(value).__name__}) "
                                                    "could not be sent back from the job process"))
        finally:
            tokens.pop(job_id, None)

    # the job's own processes start as they would from the command line (the platform's default:
    # cleanlab's pool relies on fork's copy of its globals), not with the method that started this one
    multiprocessing.set_start_method(None, force=True)
    started = time.monotonic()
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - the job that needs it reports it properly
            log.warning("job process: preloading %s failed: %s", name, exc)
    send(("ready", os.getpid(), time.monotonic() - started))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):   # the parent closed its end or died: stop
            break
        kind = message[0]
        if kind == "run":
            _, job_id, target, request = message
            tokens[job_id] = CancelToken()
            thread = threading.Thread(target=run, args=(job_id, target, request), daemon=True,
                                      name=f"job-{job_id}")
            threads.append(thread)
            thread.start()
        elif kind == "cancel":
            token = tokens.get(message[1])
            if token is not None:
                token.cancel()
        elif kind == "quit":
            break
    for token in list(tokens.values()):
        token.cancel()
    deadline = time.monotonic() + 2.0
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(0)   # no interpreter teardown: a half-stopped job thread must not hang the exit


def _send_error(send, job_id: int, exc: BaseException) -> None:
    kind = f"{type(exc).__module__}:{type(exc).__qualname__}"
    text = "".join(traceback.format_exception(exc))
    payload: BaseException | None = exc
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - rebuilt from its type and message in the parent
        payload = None
    if not send(("error", job_id, payload, kind, str(exc), text)):
        send(("error", job_id, None, kind, str(exc), text))


def _rebuild_error(payload, kind: str, message: str, text: str) -> BaseException:
    """The child's exception as the caller raises it: the same type, the same message."""
    exc = payload
    if not isinstance(exc, BaseException):
        exc = None
        try:
            cls = import_job(kind)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                exc = cls.__new__(cls)
                BaseException.__init__(exc, message)
        except Exception:  # noqa: BLE001 - an error type the parent cannot import
            exc = None
        if exc is None or str(exc) != message:
            exc = JobProcessDied(f"{kind.replace(':', '.')}: {message}") if exc is None else exc
    try:
        exc.add_note(f"raised in the job process:\n{text}")
    except (AttributeError, TypeError):
        pass
    return exc


# ---- the parent -------------------------------------------------------------------------------------
class _Child:
    """One child process and the thread reading what it sends."""

    def __init__(self, runner: ProcessRunner) -> None:
        ctx = multiprocessing.get_context(runner.context)
        self.what = runner.what
        self.conn, child_conn = ctx.Pipe(duplex=True)
        # not a daemon: a daemon may not start processes, and jobs do (cleanlab's pool, data
        # loaders). It ends when this process closes its end of the pipe (see _stop_all_at_exit)
        self.process = ctx.Process(target=_child_main, args=(child_conn, runner.preload), daemon=False,
                                   name=runner.what)
        self.calls: dict[int, queue.SimpleQueue] = {}
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.dead: str | None = None           # why it ended, once it has
        self.pid: int | None = None
        self.import_s: float | None = None
        self.start_s: float | None = None
        started = time.monotonic()
        self.process.start()
        _LIVE.add(self)
        child_conn.close()                      # only the child holds its end: its death is our EOF
        self._started = started
        self.reader = threading.Thread(target=self._read, daemon=True, name=f"{runner.what} reader")
        self.reader.start()

    def _read(self) -> None:  # the reader thread
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                break
            except Exception as exc:  # noqa: BLE001 - a message the parent cannot unpickle
                log.warning("%s sent something unreadable: %s", self.what, exc)
                continue
            kind = message[0]
            if kind == "ready":
                self.pid, self.import_s = message[1], message[2]
                self.start_s = time.monotonic() - self._started
                self.ready.set()
                continue
            with self.lock:
                calls = self.calls.get(message[1])
            if calls is not None:
                calls.put(message)
        self.process.join(5.0)
        why = f"{self.what} {describe_exit(self.process.exitcode)}"
        with self.lock:
            self.dead = why
            pending = list(self.calls.values())
        for calls in pending:
            calls.put(("died", None, why))
        self.ready.set()

    def send(self, message) -> None:
        with self.lock:
            if self.dead is not None:
                raise JobProcessDied(self.dead)
            self.conn.send(message)

    def alive(self) -> bool:
        return self.dead is None and self.process.is_alive()

    def stop(self, timeout_s: float) -> bool:
        """Quit, terminate after ``timeout_s``, then kill; True when it ended within the limit."""
        try:
            self.send(("quit",))
        except (JobProcessDied, OSError, ValueError):
            pass
        started = time.monotonic()
        self.process.join(max(0.0, timeout_s))
        ended = not self.process.is_alive()
        if not ended:
            log.warning("%s did not quit within %.2f s (waited %.2f s); terminating it", self.what, timeout_s,
                        time.monotonic() - started)
            self.process.terminate()
            self.process.join(1.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5.0)
        self.reader.join(5.0)
        self.conn.close()
        _LIVE.discard(self)
        return ended


_LIVE: weakref.WeakSet[_Child] = weakref.WeakSet()


@atexit.register
def _stop_all_at_exit() -> None:
    """Children still running when the interpreter exits are stopped (registered after
    multiprocessing's own exit handler, so it runs first: that one would wait for them forever)."""
    for child in list(_LIVE):
        child.stop(1.0)


class ProcessRunner:
    """A warm child process that runs jobs by import path. Thread-safe; :meth:`stop` when done."""

    _ids = itertools.count(1)

    def __init__(self, what: str = "The job process", *, preload: tuple[str, ...] = (), context: str = "spawn",
                 cancel_grace_s: float = CANCEL_GRACE_S) -> None:
        self.what, self.preload, self.context = what, tuple(preload), context
        self.cancel_grace_s = cancel_grace_s
        self._child: _Child | None = None
        self._lock = threading.Lock()
        self._closed = False

    # ---- the child ------------------------------------------------------------------------------
    def start(self) -> ProcessRunner:
        """Start the child now (else the first call does); it answers jobs once it is ready."""
        self._current()
        return self

    def _current(self) -> _Child:
        with self._lock:
            if self._closed:
                raise JobProcessDied(f"{self.what} was stopped")
            if self._child is None or self._child.dead is not None:
                if self._child is not None:
                    self._child.reader.join(1.0)
                    self._child.conn.close()
                self._child = _Child(self)
            return self._child

    def is_alive(self) -> bool:
        child = self._child
        return child is not None and child.alive()

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.process.pid if child is not None else None

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> float | None:
        """Wait until the child runs jobs; its start-up time in seconds (None: not within the limit)."""
        child = self._current()
        child.ready.wait(timeout_s)
        return child.start_s

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Stop the child: its jobs are cancelled, it quits, and after ``timeout_s`` it is
        terminated, then killed. True when it quit within the limit. The runner can start again."""
        with self._lock:
            child, self._child = self._child, None
        if child is None:
            return True
        return child.stop(timeout_s)

    def close(self, timeout_s: float = 5.0) -> bool:
        """:meth:`stop`, and no more jobs after it."""
        self._closed = True
        return self.stop(timeout_s)

    # ---- jobs -----------------------------------------------------------------------------------
    def job(self, target: str, *, cancel_grace_s: float | None = None) -> Callable[..., Any]:
        """``target`` as a job function of the :mod:`engine.jobs` contract, run in the child."""

        def job(request, *, on_progress=ignore_progress, cancel: CancelToken | None = None):
            return self.call(target, request, on_progress=on_progress, cancel=cancel, cancel_grace_s=cancel_grace_s)

        job.__name__ = job.__qualname__ = target.rpartition(":")[2] or target
        return job

    def call(self, target: str, request: Any = None, *, on_progress: Callable[[Progress], None] = ignore_progress,
             cancel: CancelToken | None = None, cancel_grace_s: float | None = None) -> Any:
        """Run ``target(request, on_progress=…, cancel=…)`` in the child and return its result
        (raise what it raised) in the calling thread."""
        cancel = cancel or CancelToken()
        grace = self.cancel_grace_s if cancel_grace_s is None else cancel_grace_s
        cancel.raise_if_cancelled()
        child = self._current()
        job_id = next(self._ids)
        replies: queue.SimpleQueue = queue.SimpleQueue()
        with child.lock:
            child.calls[job_id] = replies
        try:
            child.send(("run", job_id, target, request))
            return self._wait(child, job_id, target, replies, on_progress, cancel, grace)
        finally:
            with child.lock:
                child.calls.pop(job_id, None)

    def call_function(self, target: str, *args, timeout_s: float | None = None, **kwargs) -> Any:
        """``target(*args, **kwargs)`` in the child (a quick query); what it raises is raised here.
        ``timeout_s``: give up (``JobProcessDied``, the child is ended) after that long."""
        cancel = CancelToken()
        timer = None
        if timeout_s is not None:
            timer = threading.Timer(timeout_s, cancel.cancel)
            timer.daemon = True
            timer.start()
        try:
            return self.call("engine.jobs.process:call_function", (target, args, kwargs), cancel=cancel,
                             cancel_grace_s=0.0)
        except Cancelled:
            raise JobProcessDied(f"{self.what} did not answer {target} within {timeout_s:.0f} s") from None
        finally:
            if timer is not None:
                timer.cancel()

    def _wait(self, child: _Child, job_id: int, target: str, replies, on_progress, cancel: CancelToken,
              grace: float) -> Any:
        cancel_sent: float | None = None
        while True:
            try:
                message = replies.get(timeout=POLL_S)
            except queue.Empty:
                if cancel.cancelled and cancel_sent is None:
                    cancel_sent = time.monotonic()
                    try:
                        child.send(("cancel", job_id))
                    except (JobProcessDied, OSError, ValueError):
                        pass
                elif cancel_sent is not None and time.monotonic() - cancel_sent > grace:
                    log.warning("%s: %s ignored its cancel for %.1f s; ending the process", self.what, target, grace)
                    self._end(child)
                    raise Cancelled(f"{target} was cancelled (its process was ended)") from None
                continue
            kind = message[0]
            if kind == "progress":
                on_progress(message[2])
            elif kind == "done":
                return message[2]
            elif kind == "cancelled":
                raise Cancelled(message[2])
            elif kind == "error":
                raise _rebuild_error(*message[2:])
            elif kind == "died":
                if cancel.cancelled:
                    raise Cancelled(f"{target} was cancelled")
                raise JobProcessDied(f"{message[2]} while running {target}; the job did not finish")

    def _end(self, child: _Child) -> None:
        with self._lock:
            if self._child is child:
                self._child = None
        child.stop(0.0)
