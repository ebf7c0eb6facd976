"""Killing a process in the middle of saving edits leaves the old or the new file, never a broken one."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from engine.datasets.edits import EDITS_FILENAME, LabelEdits
from tests.helpers_sigkill import kill_during_saves

LABELS = ["anger", "boredom", "fear", "sadness"]
CHILD = f"""
import sys
from engine.datasets.edits import LabelEdits
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
    kills, saved = kill_during_saves(CHILD, str(tmp_path), kills=12, seed=7,
                                     check=lambda previous: _check(tmp_path / EDITS_FILENAME, previous))
    assert kills == 12
    assert saved > 12  # the children did save between kills
    # and the survivor opens normally, its history intact
    assert len(LabelEdits.open(tmp_path).history) == saved
