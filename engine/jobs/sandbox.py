"""A bounded child process: run one function, named by its import path, under a memory cap and a
wall-clock budget, and get back the one message it returns.

Untrusted work (the first run of a model file a person dropped in) must not be able to hang or
exhaust the caller. The child is a plain ``python -c`` where there is an interpreter (it never
re-runs the caller's ``__main__``, which a ``spawn`` child does), else (a frozen app, Windows) a
``multiprocessing`` spawn child, which ``freeze_support`` starts. In the child the target's module
is imported first (its libraries' own mappings are not the work's), then the address space is
capped with ``RLIMIT_AS`` at what it uses now plus ``memory_bytes``, then the function runs.

The target is ``"package.module:function"`` (as :mod:`engine.jobs.process` names its jobs), so
this module never imports what it runs: no import cycle between the launcher and the work.
The function takes string arguments and returns a JSON-able list or tuple; an exception in it
becomes ``("error", "<type>: <message>")``.
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import subprocess
import sys
import threading
from collections.abc import Sequence

_lock = threading.Lock()
_children: set[_Child] = set()


class BudgetExceeded(Exception):
    """The child did not answer within its budget (it was killed)."""


class ChildDied(Exception):
    """The child ended without an answer (a crash, or its memory cap); ``exitcode`` says how."""

    def __init__(self, exitcode) -> None:
        super().__init__(f"the child process ended without an answer (exit code {exitcode})")
        self.exitcode = exitcode


def run_bounded(target: str, args: Sequence[str], *, budget_s: float, memory_bytes: int,
                cancel=None) -> tuple:
    """Run ``target(*args)`` in a bounded child and return its answer.

    Raises :class:`BudgetExceeded` after ``budget_s``, :class:`ChildDied` when the child ends
    without answering, and ``engine.jobs.Cancelled`` when ``cancel`` (a ``CancelToken``) is set
    while it runs (the child is killed in every case).
    """
    from engine.jobs import Cancelled

    child = _Child(target, [str(a) for a in args], memory_bytes)
    with _lock:
        _children.add(child)
    try:
        waited = 0.0
        while waited < budget_s:
            step = min(0.1, budget_s - waited)
            ready, message = child.wait_message(step)
            if ready:
                if message is None:
                    child.stop()
                    raise ChildDied(child.exitcode)
                return tuple(message)
            waited += step
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"{target} was cancelled")
        raise BudgetExceeded(f"{target} did not answer within {budget_s:g} s")
    finally:
        child.stop()
        with _lock:
            _children.discard(child)


def running() -> int:
    """How many bounded children are running now (tests, and a window checking it quit cleanly)."""
    with _lock:
        return sum(child.alive() for child in _children)


class _Child:
    def __init__(self, target: str, args: list[str], memory_bytes: int) -> None:
        self._proc = self._mp = self._receiver = None
        if getattr(sys, "frozen", False) or os.name != "posix":
            context = multiprocessing.get_context("spawn")
            self._receiver, sender = context.Pipe(duplex=False)
            self._mp = context.Process(target=_child_main, args=(target, args, memory_bytes, sender.send),
                                       name="earmark-bounded", daemon=True)
            self._mp.start()
            sender.close()
        else:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
            self._proc = subprocess.Popen(
                [sys.executable, "-c", "import sys; from engine.jobs.sandbox import child_stdout; "
                 "child_stdout(sys.argv[1:])", target, str(memory_bytes), *args],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                start_new_session=True)  # a Ctrl-C meant for the caller is the caller's to handle
        self._buffer = b""

    def wait_message(self, timeout_s: float):
        """(True, message) when the child answered or died (message None), else (False, None)."""
        if self._mp is not None:
            if self._receiver.poll(timeout_s):
                try:
                    return True, self._receiver.recv()
                except EOFError:
                    return True, None
            return (not self._mp.is_alive() and not self._receiver.poll()), None
        import select

        readable, _, _ = select.select([self._proc.stdout], [], [], timeout_s)
        if readable:
            chunk = os.read(self._proc.stdout.fileno(), 65536)
            if chunk:
                self._buffer += chunk
                if b"\n" not in self._buffer:
                    return False, None
            line = self._buffer.split(b"\n", 1)[0]
            try:
                return True, json.loads(line) if line else None
            except ValueError:
                return True, None
        return False, None

    @property
    def exitcode(self):
        if self._mp is not None:
            return self._mp.exitcode
        return self._proc.poll()

    def alive(self) -> bool:
        return self._mp.is_alive() if self._mp is not None else self._proc.poll() is None

    def stop(self) -> None:
        if self._mp is not None:
            if self._mp.is_alive():
                self._mp.kill()
            self._mp.join(5)
            self._receiver.close()
            return
        if self._proc.poll() is None:
            self._proc.kill()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        if not self._proc.stdout.closed:
            self._proc.stdout.close()


def child_stdout(argv: list[str]) -> None:
    """``python -c`` entry: run the target, print its answer as one JSON line, exit at once."""
    def send(message) -> None:
        sys.stdout.write(json.dumps(list(message)) + "\n")
        sys.stdout.flush()

    _child_main(argv[0], argv[2:], int(argv[1]), send)
    os._exit(0)  # no interpreter teardown: the answer is out


def _child_main(target: str, args: list[str], memory_bytes: int, send) -> None:
    try:
        module_name, _, function_name = target.partition(":")
        function = getattr(importlib.import_module(module_name), function_name)
        _cap_address_space(memory_bytes)
        answer = function(*args)
    except BaseException as exc:  # noqa: BLE001 - whatever it was, the caller gets an answer
        answer = ("error", f"{type(exc).__name__}: {str(exc)[:300]}")
    send(answer)


def _cap_address_space(extra_bytes: int) -> None:
    try:
        import resource
    except ImportError:  # not a POSIX system: the wall-clock budget still holds
        return
    try:
        with open("/proc/self/statm") as handle:
            current = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        current = 512 << 20
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = current + extra_bytes
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
