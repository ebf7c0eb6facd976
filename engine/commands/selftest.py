"""``main.py --self-test``: classify the bundled demo clip with every bundled model, headless.

It checks a build (the frozen app or a source checkout) without a display: it never imports
Qt or torch, finds the bundled models the way the app does (``engine.userdirs.bundled_model_dir``,
which looks inside a frozen bundle), resolves the user's model folder (platformdirs), prints
each model's top labels and one verdict line, and returns the exit status: 0 when every
bundled model classified the clip, 1 otherwise (the reason is on stderr).

``EARMARK_BUNDLED_MODELS`` points it at another models folder (tests, or checking a folder
before it is bundled).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TextIO

import numpy as np

from engine.userdirs import resource_dir

MODELS_ENV = "EARMARK_BUNDLED_MODELS"
DEMO_CLIP = Path("demo") / "lappen_de.wav"
TOP_K = 3
# Never loaded by classifying. (PySide6.QtCore is left out: in the frozen app PyInstaller's Qt
# runtime hook imports it before main.py runs, to point Qt at its bundled plugins.)
FORBIDDEN_MODULES = ("torch", "trainer", "PySide6.QtGui", "PySide6.QtWidgets", "pyqtgraph")


class SelfTestFailed(Exception):
    """A check failed; the message says what and how to fix it."""


def models_folder() -> Path:
    from engine.userdirs import bundled_model_dir

    return Path(os.environ.get(MODELS_ENV) or bundled_model_dir())


def self_test(*, models_dir: str | os.PathLike | None = None, clip: str | os.PathLike | None = None,
              out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the checks; print the details to ``out`` and a failure's reason to ``err``."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        n_models = _run_checks(Path(models_dir) if models_dir else models_folder(),
                               Path(clip) if clip else resource_dir() / DEMO_CLIP, out)
    except SelfTestFailed as exc:
        out.flush()
        print(f"self-test FAILED: {exc}", file=err)
        return 1
    print(f"self-test passed: {n_models} bundled model(s) classified the demo clip; "
          "neither torch nor the Qt GUI was loaded", file=out)
    return 0


def _run_checks(models_dir: Path, clip: Path, out: TextIO) -> int:
    import onnxruntime

    from engine.models.catalog import find_models

    frozen = "yes" if getattr(sys, "frozen", False) else "no"
    print(f"Earmark self-test (frozen: {frozen}, Python {sys.version.split()[0]}, "
          f"ONNX Runtime {onnxruntime.__version__})", file=out)
    models = find_models([models_dir])
    print(f"bundled models: {models_dir} ({len(models)} found)", file=out)
    print(f"user model folder: {_user_folder()}", file=out)
    if not models:
        raise SelfTestFailed(
            f"no model (*.onnx) in {models_dir}; a build must bundle at least one: put an exported "
            f"Earmark model into models_onnx/ before building (or point {MODELS_ENV} at a folder)")
    for path in models:
        print(_classify_line(path, clip), file=out)
    loaded = [name for name in FORBIDDEN_MODULES if name in sys.modules]
    if loaded:
        raise SelfTestFailed(f"classifying loaded {', '.join(loaded)}; the classifying part must not need it")
    return len(models)


def _user_folder() -> str:
    from engine.userdirs import user_model_dir

    try:
        folder = user_model_dir()
    except Exception as exc:  # noqa: BLE001 - a frozen app missing platformdirs lands here
        raise SelfTestFailed(f"cannot find the user's model folder ({type(exc).__name__}: {exc})") from exc
    return f"{folder} ({'exists' if folder.is_dir() else 'not created yet'})"


def _classify_line(model_path: Path, clip: Path) -> str:
    from engine.audio.io import load_audio
    from engine.errors import EarmarkError
    from engine.models.classifier import OnnxClassifier

    start_s = time.perf_counter()
    try:
        model = OnnxClassifier.load(model_path, threads=1)
        audio = load_audio(clip, model.meta.sample_rate_hz)
        probs = model.classify(audio.samples)
    except EarmarkError as exc:
        raise SelfTestFailed(str(exc)) from exc
    elapsed_ms = (time.perf_counter() - start_s) * 1000
    labels = model.meta.labels
    if probs.shape != (len(labels),) or not np.all(np.isfinite(probs)) or abs(float(probs.sum()) - 1) > 1e-3:
        raise SelfTestFailed(
            f"{model_path}: the model's output on {clip.name} is not {len(labels)} probabilities "
            f"summing to 1 (shape {probs.shape}, sum {float(np.nansum(probs)):.4f})")
    top = ", ".join(f"{labels[i]} {probs[i]:.2f}" for i in np.argsort(probs)[::-1][:TOP_K])
    return (f"{model_path.name} on {clip.name} ({audio.duration_s:.2f} s): {top} "
            f"[{len(labels)} labels, {model.meta.sample_rate_hz} Hz, {elapsed_ms:.0f} ms]")
