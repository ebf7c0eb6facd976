"""Killing a process in the middle of saving edits leaves the old or the new file, never a broken one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine.edits import EDITS_FILENAME, LabelEdits

REPO = Path(__file__).resolve().parents[2]
LABELS = ["anger", "boredom", "fear", "sadness"]
CHILD = f"""
import sys
from engine.edits import LabelEdits
edits = LabelEdits.open(sys.argv[1])
labels = {LABELS!r}
i = len(edits.history)
print("ready", flush=True)
while True:
    edits.relabel(f"wav/clip{{i % 7}}.wav", labels[i % len(labels)] + str(i))
    i += 1
"""


def _expected_label(i: int) -> str:
    return LABELS[i % len(LABELS)] + str(i)


def _check(path: Path, previous_len: int) -> int:
    if not path.exists():  # killed before its first save finished (a loaded machine): the old state is no file
        assert previous_len == 0, f"{path} vanished after {previous_len} saved changes"
        return 0
    doc = json.loads(path.read_text(encoding="utf-8"))  # never half a file
    history = doc["history"]
    assert len(history) >= previous_len  # the old state or a newer one
    for i, entry in enumerate(history):
        assert entry["clip"] == f"wav/clip{i % 7}.wav"
        assert entry["new"] == _expected_label(i)
    latest = {}
    for entry in history:
        latest[entry["clip"]] = entry["new"]
    assert {k: v["label"] for k, v in doc["clips"].items()} == latest
    return len(history)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_during_saves_never_breaks_the_file(tmp_path):
    (tmp_path / "wav").mkdir()
    rng = np.random.default_rng(7)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    saved = 0
    kills = 0
    for _ in range(12):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True
        )
        assert child.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.01, 0.15)))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()
        kills += child.returncode == -signal.SIGKILL
        saved = _check(tmp_path / EDITS_FILENAME, saved)
    assert kills == 12
    assert saved > 12  # the children did save between kills
    # and the survivor opens normally, its history intact
    assert len(LabelEdits.open(tmp_path).history) == saved
