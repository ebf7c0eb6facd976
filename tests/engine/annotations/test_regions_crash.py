"""Killing a process in the middle of saving regions leaves the old or the new sidecar, never a broken one."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.annotations.regions import RegionTrack, sidecar_path
from tests.helpers_sigkill import kill_during_saves

CHILD = """
import sys
from engine.annotations.regions import RegionTrack
track = RegionTrack.open(sys.argv[1])
i = len(track.history)
print("ready", flush=True)
while True:
    track.add(i * 0.5, i * 0.5 + 0.25, f"label{i}", note="n" * (i % 50))
    i += 1
"""


def _check(path: Path, previous_len: int) -> int:
    if not path.exists():  # killed before its first save finished: the old state is no file
        assert previous_len == 0
        return 0
    json.loads(path.read_text(encoding="utf-8"))  # the snapshot is never half a file
    audio = path.with_name(path.name[: -len(".earmark-regions.json")])
    doc = RegionTrack.open(audio, autosave=False).to_json()  # nor is snapshot + journal
    history = doc["history"]
    assert len(history) >= previous_len
    assert len(doc["regions"]) == len(history)
    for i, (entry, region) in enumerate(zip(history, doc["regions"], strict=True)):
        assert entry["action"] == "add" and entry["after"][0]["label"] == f"label{i}"
        assert region["label"] == f"label{i}" and region["start_s"] == i * 0.5
    return len(history)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_during_saves_never_breaks_the_sidecar(tmp_path, write_wav):
    audio = write_wav("rec.wav", np.zeros(800, dtype=np.float32), 8000)
    audio_bytes = audio.read_bytes()
    kills, saved = kill_during_saves(CHILD, str(audio), kills=10, seed=5,
                                     check=lambda previous: _check(sidecar_path(audio), previous))
    assert kills == 10 and saved > 10
    assert len(RegionTrack.open(audio).regions) == saved
    assert audio.read_bytes() == audio_bytes
