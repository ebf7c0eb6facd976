"""Vetting a model file before Earmark trusts it: an operator allow-list and a bounded first run.

A model file is a program. An 826-byte ``.onnx`` whose graph is a ``Loop`` with 2**40
iterations runs for ever; a 748-byte one allocates 4.4 GB on its first run. Two guards,
both before the model is opened in the caller's process:

1. :data:`ALLOWED_OPS`: the operators Earmark's exported models use (every backbone in
   ``trainer.models`` with the log-mel frontend of ``trainer.models.frontend``, exported by
   ``trainer.run.export`` at opset 17, and the shipped ``models_onnx/*.onnx``), plus a few
   element-wise ones. No control flow (``Loop``, ``Scan``, ``If``), no custom domains.
   :func:`check_ops` is fed by the pre-load scan in :mod:`engine.models.classifier`.
2. :func:`first_run_in_sandbox`: the first session and inference run in a bounded child
   process (:mod:`engine.jobs.sandbox`: address space capped with ``RLIMIT_AS``, killed after
   a wall-clock budget), which runs :data:`PROBE`. Only a model that answered there is opened
   in the caller's process. Verdicts are cached per file content for the process's life.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelLoadError
from engine.jobs.sandbox import BudgetExceeded, ChildDied, run_bounded

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


# The probe the bounded child runs (named by import path: this module never imports the loader).
PROBE = "engine.models.classifier:probe_first_run"

_verdicts: dict[tuple[str, int], str | None] = {}  # (sha256, limits) -> None (passed) or the refusal
_lock = threading.Lock()


RACY_NS = 2_000_000_000   # a file changed this recently is hashed again next time (not remembered)
_digests: dict[tuple, str] = {}  # (path, inode, size, mtime_ns, ctime_ns) -> sha256


def content_digest(path: str | os.PathLike) -> str:
    """The SHA-256 of the file's bytes, read once per version of the file: vetting, and finding the
    person's class thresholds for a model, both key on the content. A version is the inode, size,
    modification and change times (a program can set the modification time back; not the change time)."""
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    with _lock:
        if key in _digests:
            return _digests[key]
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    if time.time_ns() - stat.st_ctime_ns > RACY_NS:   # as git does: a file changed within the file
        with _lock:                                   # system's clock tick may change again unseen
            _digests[key] = sha.hexdigest()
    return sha.hexdigest()


def first_run_in_sandbox(path: Path, *, threads: int, limits: Limits | None = None, cancel=None) -> None:
    """Open ``path`` in ONNX Runtime in a bounded child process and run its probe there.

    Raises ModelLoadError naming the file when the child fails, overruns ``limits.budget_s``,
    runs out of its address space or dies. ``cancel`` (an ``engine.jobs.CancelToken``) kills
    the child early and raises ``engine.jobs.Cancelled``.
    """
    limits = limits or limits_from_env()
    key = (content_digest(path), hash((limits.budget_s, limits.memory_bytes)))
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
    try:
        status, text = run_bounded(PROBE, (os.fspath(path), threads, limits.memory_bytes),
                                   budget_s=limits.budget_s, memory_bytes=limits.memory_bytes, cancel=cancel)
    except BudgetExceeded:
        return (f"{path}: the model did not answer within {limits.budget_s:g} s on its first run "
                "(a graph that never finishes is refused); stopped it")
    except ChildDied as died:
        return (f"{path}: the model crashed ONNX Runtime on its first run (exit code {died.exitcode}); "
                f"it may need more than {limits.memory_bytes >> 20} MiB")
    if status == "ok":
        return None
    return text if status == "refused" else f"{path}: cannot be used ({text})"
