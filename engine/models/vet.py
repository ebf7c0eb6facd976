"""Vetting a model file before Earmark trusts it: an operator allow-list and a bounded first run.

A model file is a program. An 826-byte ``.onnx`` whose graph is a ``Loop`` with 2**40
iterations runs for ever; a 748-byte one allocates 4.4 GB on its first run. Two guards,
both before the model is opened in the caller's process:

1. :data:`ALLOWED_OPS`: the operators Earmark's exported models use (every backbone in
   ``trainer.models`` with the log-mel frontend of ``trainer.models.frontend``, exported by
   ``trainer.run.export`` at opset 17, and the shipped ``models_onnx/*.onnx``), plus a few
   element-wise ones. No control flow (``Loop``, ``Scan``, ``If``), no custom domains.
   :func:`check_ops` is fed by the pre-load scan in :mod:`engine.models.classifier`.
2. :func:`first_run_in_sandbox`: the first session and inference run in a child process
   (``spawn``) whose address space is capped with ``resource.setrlimit(RLIMIT_AS)`` and
   which is killed after a wall-clock budget. Only a model that answered there is opened
   in the caller's process. Verdicts are cached per file content for the process's life.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelLoadError

# What `trainer.run.export` writes (measured over every registered backbone, SE/CBAM variants,
# three STFT sizes, and the shipped models_onnx/*.onnx: emodb_cnn, 2026-12-02; emodb_vgg4, 2026-12-03) ...
EXPORTED_OPS = frozenset({
    "Add", "Cast", "Clip", "Concat", "Constant", "ConstantOfShape", "Conv", "Div", "Equal", "Expand",
    "Flatten", "Gather", "Gemm", "GlobalAveragePool", "HardSigmoid", "HardSwish", "Identity", "Log",
    "MatMul", "Max", "MaxPool", "Mul", "Pad", "Pow", "ReduceMax", "ReduceMean", "Relu", "Reshape",
    "Resize", "ScatterND", "Shape", "Sigmoid", "Slice", "Softmax", "Sqrt", "Sub", "Transpose",
    "Unsqueeze", "Where",
})
# ... and element-wise or reducing operators other exporters emit for the same layers.
BENIGN_OPS = frozenset({
    "Abs", "AveragePool", "BatchNormalization", "Ceil", "Cos", "Dropout", "Elu", "Erf", "Exp", "Floor",
    "GlobalMaxPool", "Greater", "GreaterOrEqual", "LeakyRelu", "Less", "LessOrEqual", "LogSoftmax",
    "Min", "Neg", "Not", "And", "Or", "Reciprocal", "ReduceMin", "ReduceSum", "Round", "Sin", "Softplus",
    "Split", "Squeeze", "Sum", "Tanh", "Mean", "PRelu", "InstanceNormalization", "LayerNormalization",
})
ALLOWED_OPS = EXPORTED_OPS | BENIGN_OPS
ALLOWED_DOMAINS = frozenset({"", "ai.onnx"})

DEFAULT_BUDGET_S = 20.0           # session creation plus the first runs; ResNet-50 takes ~2 s here
DEFAULT_MEMORY_BYTES = 1280 << 20  # address space the model may add to an idle ONNX Runtime process


def check_ops(path: Path, ops: set[tuple[str, str]]) -> None:
    """Refuse a graph with an operator outside the allow-list (ModelLoadError naming file and op)."""
    foreign = sorted(f"{d}:{o}" if d not in ALLOWED_DOMAINS else o
                     for d, o in ops if d not in ALLOWED_DOMAINS or o not in ALLOWED_OPS)
    if foreign:
        shown = ", ".join(foreign[:6]) + (f" and {len(foreign) - 6} more" if len(foreign) > 6 else "")
        raise ModelLoadError(
            f"{path}: the graph uses {shown}, which Earmark models never contain (control flow and "
            "custom operators could run without end); export the model with `main.py train`"
        )


@dataclass(frozen=True)
class Limits:
    budget_s: float = DEFAULT_BUDGET_S
    memory_bytes: int = DEFAULT_MEMORY_BYTES


def limits_from_env() -> Limits:
    """Limits, overridable by ``EARMARK_MODEL_BUDGET_S`` and ``EARMARK_MODEL_MEMORY_MB``."""
    try:
        budget = float(os.environ.get("EARMARK_MODEL_BUDGET_S") or DEFAULT_BUDGET_S)
        memory = int(float(os.environ.get("EARMARK_MODEL_MEMORY_MB") or 0)) << 20 or DEFAULT_MEMORY_BYTES
    except ValueError:
        return Limits()
    return Limits(budget, memory)


_verdicts: dict[tuple[str, int], str | None] = {}  # (sha256, limits) -> None (passed) or the refusal
_lock = threading.Lock()
_children: set = set()  # running sandboxes (see running())


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def first_run_in_sandbox(path: Path, *, threads: int, limits: Limits | None = None, cancel=None) -> None:
    """Open ``path`` in ONNX Runtime in a bounded child process and run its probe there.

    Raises ModelLoadError naming the file when the child fails, overruns ``limits.budget_s``,
    runs out of its address space or dies. ``cancel`` (an ``engine.jobs.CancelToken``) kills
    the child early and raises ``engine.jobs.Cancelled``.
    """
    limits = limits or limits_from_env()
    key = (_digest(path), hash((limits.budget_s, limits.memory_bytes)))
    with _lock:
        if key in _verdicts:
            verdict = _verdicts[key]
            if verdict is not None:
                raise ModelLoadError(verdict)
            return
    verdict = _run_child(path, threads, limits, cancel)
    with _lock:
        _verdicts[key] = verdict
    if verdict is not None:
        raise ModelLoadError(verdict)


def _run_child(path: Path, threads: int, limits: Limits, cancel) -> str | None:
    from engine.jobs import Cancelled

    child = _Sandbox(path, threads, limits.memory_bytes)
    with _lock:
        _children.add(child)
    try:
        message, waited = None, 0.0
        while waited < limits.budget_s:
            step = min(0.1, limits.budget_s - waited)
            ready, message = child.wait_message(step)
            if ready:
                break
            waited += step
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"vetting {path} was cancelled")
        else:
            return (f"{path}: the model did not answer within {limits.budget_s:g} s on its first run "
                    "(a graph that never finishes is refused); stopped it")
    finally:
        child.stop()
        with _lock:
            _children.discard(child)
    if message is None:
        return (f"{path}: the model crashed ONNX Runtime on its first run (exit code {child.exitcode}); "
                f"it may need more than {limits.memory_bytes >> 20} MiB")
    status, text = message
    return None if status == "ok" else text


class _Sandbox:
    """The child process. A plain ``python -c`` where there is an interpreter (it never
    re-runs the caller's ``__main__``, which a ``spawn`` child does), else (a frozen app,
    Windows) a ``multiprocessing`` spawn child, which ``freeze_support`` starts."""

    def __init__(self, path: Path, threads: int, memory_bytes: int) -> None:
        args = (os.fspath(path), threads, memory_bytes)
        self._proc = self._mp = self._receiver = None
        if getattr(sys, "frozen", False) or os.name != "posix":
            context = multiprocessing.get_context("spawn")
            self._receiver, sender = context.Pipe(duplex=False)
            self._mp = context.Process(target=_child_main, args=(*args, sender.send),
                                       name="earmark-model-vet", daemon=True)
            self._mp.start()
            sender.close()
        else:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
            self._proc = subprocess.Popen(
                [sys.executable, "-c", "import sys; from engine.models.vet import _child_stdout; _child_stdout(sys.argv[1:])",
                 *map(str, args)],
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
                return True, tuple(json.loads(line)) if line else None
            except ValueError:
                return True, None
        return False, None

    @property
    def exitcode(self):
        return self._mp.exitcode if self._mp is not None else self._proc.returncode

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
        self._proc.stdout.close()


def running() -> int:
    """How many sandboxes are running now (tests, and a window checking it quit cleanly)."""
    with _lock:
        return sum(child.alive() for child in _children)


def _child_stdout(argv: list[str]) -> None:
    """``python -c`` entry: run :func:`_child_main`, print its verdict as one JSON line."""
    def send(message) -> None:
        sys.stdout.write(json.dumps(list(message)) + "\n")
        sys.stdout.flush()

    _child_main(argv[0], int(argv[1]), int(argv[2]), send)
    os._exit(0)  # no interpreter teardown: the verdict is out


def _child_main(path: str, threads: int, memory_bytes: int, send) -> None:
    """In the child: cap the address space, open the model, probe it, report one verdict."""
    try:
        import numpy  # noqa: F401 - imported before the cap: their own mappings are not the model's
        import onnxruntime

        onnxruntime.set_default_logger_severity(4)  # the verdict says what failed; no log lines
        _cap_address_space(memory_bytes)
        import engine.models.classifier

        engine.models.classifier.SESSION_LOG_SEVERITY = 4
        engine.models.classifier.OnnxClassifier.load(path, threads=threads, sandbox=False)
    except ModelLoadError as exc:
        text = str(exc)
        if "failed to allocate" in text.lower() or "bad_alloc" in text.lower():
            text = (f"{path}: the model needs more than {memory_bytes >> 20} MiB of memory on its "
                    "first run; refused")
        send(("refused", text))
    except MemoryError:
        send(("refused", f"{path}: the model needs more than {memory_bytes >> 20} MiB on its first run"))
    except BaseException as exc:  # noqa: BLE001 - whatever it was, the verdict is "refused"
        send(("refused", f"{path}: cannot be used ({type(exc).__name__}: {str(exc)[:300]})"))
    else:
        send(("ok", ""))


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
