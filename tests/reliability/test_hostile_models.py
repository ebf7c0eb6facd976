"""Hostile model files: tiny graphs that would hang or exhaust a process that trusted them.

Each is refused with a message naming the file, within a time budget and in bounded memory,
by ``classify`` (a real subprocess, its peak memory measured with ``wait4``) and by
``OnnxClassifier.load``; cancelling a vetting kills its sandbox at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import soundfile as sf

from engine.errors import ModelLoadError
from engine.jobs import Cancelled, CancelToken, sandbox
from engine.models.classifier import OnnxClassifier, check_model_file
from engine.models.vet import ALLOWED_OPS, EXPORTED_OPS, Limits
from tests.helpers_onnx import (
    expanding_model_proto,
    loop_bomb_proto,
    slow_model_proto,
    tone_model_proto,
    write_proto,
)

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parents[2]
PEAK_LIMIT_BYTES = 1.5e9


# The command runs under a small launcher: a child forked straight from this (large, late in
# the suite) pytest process would count the parent's resident pages in its own peak.
_LAUNCHER = ("import resource, subprocess, sys\n"
             "rc = subprocess.run(sys.argv[2:]).returncode\n"
             "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
             "sys.exit(rc)\n")


def classify_measured(*args, env=None, peak_file=None):
    """Run ``main.py classify``; return (returncode, stdout, stderr, seconds, peak RSS bytes of
    the command and every process it waited for, the vetting sandbox included)."""
    peak_file = Path(peak_file or Path(str(args[0])).with_suffix(".peak"))
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, str(peak_file), sys.executable,
                           str(ROOT / "main.py"), "classify", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, **(env or {})})
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start, int(peak_file.read_text()) * 1024


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / "clip.wav"
    t = np.arange(4000) / 8000
    sf.write(path, (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), 8000)
    return path


@pytest.mark.parametrize(("proto", "pattern"), [
    (loop_bomb_proto, "uses Loop"),
    (expanding_model_proto, "needs more than .* MiB of memory on its first run"),
], ids=["loop-2^40", "expands-to-4.4GB"])
def test_classify_refuses_hostile_models_fast_and_in_bounded_memory(tmp_path, clip, proto, pattern):
    model = write_proto(proto(), tmp_path / "hostile.onnx")
    assert model.stat().st_size < 10_000  # a tiny file
    rc, out, err, seconds, peak = classify_measured(model, clip)
    assert rc == 2, err
    assert str(model) in err and __import__("re").search(pattern, err), err
    assert "Traceback" not in err and out == ""
    assert seconds < 30, seconds
    assert peak < PEAK_LIMIT_BYTES, f"peak {peak / 1e6:.0f} MB"


def test_a_graph_that_never_finishes_is_stopped_by_the_time_budget(tmp_path):
    model = write_proto(slow_model_proto(), tmp_path / "slow.onnx")  # 400 chained 2048^2 products
    start = time.monotonic()
    with pytest.raises(ModelLoadError, match=r"did not answer within 3 s") as info:
        OnnxClassifier.load(model, threads=1, limits=Limits(budget_s=3.0))
    assert str(model) in str(info.value)
    assert time.monotonic() - start < 15


def test_cancelling_a_vetting_kills_its_sandbox_at_once(tmp_path):
    model = write_proto(slow_model_proto(), tmp_path / "slow.onnx")
    cancel = CancelToken()
    timer = threading.Timer(1.0, cancel.cancel)
    timer.start()
    start = time.monotonic()
    with pytest.raises(Cancelled):
        OnnxClassifier.load(model, threads=1, limits=Limits(budget_s=60.0), cancel=cancel)
    timer.join()
    assert time.monotonic() - start < 8
    assert sandbox.running() == 0


def test_control_flow_is_refused_before_onnxruntime_sees_the_file(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(ort, "InferenceSession", lambda *a, **k: calls.append(a))
    model = write_proto(loop_bomb_proto(), tmp_path / "loop.onnx")
    with pytest.raises(ModelLoadError, match="uses Loop"):
        check_model_file(model)
    with pytest.raises(ModelLoadError, match="uses Loop"):
        OnnxClassifier.load(model)
    assert calls == []


def test_the_allow_list_covers_what_earmark_exports():
    """The shipped model and the test models pass; the exported set is in the allow-list."""
    assert EXPORTED_OPS <= ALLOWED_OPS and not {"Loop", "Scan", "If"} & ALLOWED_OPS
    for shipped in sorted((ROOT / "models_onnx").glob("*.onnx")):
        check_model_file(shipped)


def test_a_good_model_still_loads_and_its_verdict_is_cached(tmp_path):
    path = write_proto(tone_model_proto(sample_rate_hz=8000, clip_s=0.5), tmp_path / "good.onnx")
    first = time.monotonic()
    OnnxClassifier.load(path, threads=1)
    once = time.monotonic() - first
    second = time.monotonic()
    OnnxClassifier.load(path, threads=1)
    assert time.monotonic() - second < max(0.5, once)  # no second sandbox for the same bytes
