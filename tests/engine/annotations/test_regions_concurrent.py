"""Two editors of one recording lose nothing (issue 25, S1; S2 and D13 beside it).

Real processes, started together, each add, relabel and undo their own regions on one
recording; every change a process was told was saved must be on disk afterwards, with
its history, whichever process saved last.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.annotations.regions import Region, RegionTrack

pytestmark = pytest.mark.timeout(240)

REPO = Path(__file__).resolve().parents[3]
N_PROCESSES = 2
N_ADDS = 40
CHILD = """
import json, sys
from engine.annotations.regions import Region, RegionTrack
audio, me, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
track = RegionTrack.open(audio)
print("ready", flush=True)
sys.stdin.readline()  # go
for i in range(n):
    region = track.add(me * 1000 + i, me * 1000 + i + 0.5, f"p{me}-{i}")
    if i % 10 == 9:
        track.update(region.id, label=f"p{me}-{i}-fixed")
    print(json.dumps({"id": region.id}), flush=True)
print("done", flush=True)
"""


@pytest.fixture
def audio(write_wav):
    return write_wav("rec.wav", np.zeros(1600, dtype=np.float32), 8000)


def _run_together(audio: Path) -> list[list[str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(audio), str(me), str(N_ADDS)], env=env,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for me in range(N_PROCESSES)]
    for child in children:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    ids = []
    for child in children:
        out, err = child.communicate(timeout=180)
        assert child.returncode == 0, err
        lines = out.splitlines()
        assert lines[-1] == "done", err
        ids.append([json.loads(line)["id"] for line in lines[:-1]])
    return ids


def test_two_processes_adding_regions_at_once_lose_none(audio):
    ids = _run_together(audio)
    assert [len(x) for x in ids] == [N_ADDS] * N_PROCESSES
    track = RegionTrack.open(audio)
    by_id = {r.id: r for r in track.regions}
    assert set(by_id) == {i for x in ids for i in x}  # all 80, none lost, nothing else
    for me, own in enumerate(ids):
        for i, region_id in enumerate(own):
            expected = f"p{me}-{i}-fixed" if i % 10 == 9 else f"p{me}-{i}"
            assert by_id[region_id].label == expected
            assert by_id[region_id].start_s == me * 1000 + i
    # the history holds every change each process made, in each process's order
    assert len(track.history) == N_PROCESSES * (N_ADDS + N_ADDS // 10)
    for own in ids:
        adds = [c.after[0].id for c in track.history if c.action == "add" and c.after[0].id in set(own)]
        assert adds == own


def test_an_open_track_sees_and_keeps_what_another_editor_saved(audio):
    a, b = RegionTrack.open(audio), RegionTrack.open(audio)
    seen = []
    a.subscribe(seen.append)
    bird = a.add(1, 2, "bird")
    frog = b.add(5, 6, "frog")
    a.update(bird.id, label="owl")  # a's save is made against the file as it is now
    assert sorted(r.label for r in RegionTrack.open(audio).regions) == ["frog", "owl"]
    assert any(c.after and c.after[0].id == frog.id for c in seen)  # b's add was announced to a's views
    b.update(bird.id, note="heard twice")  # b edits a field a did not touch: both kept
    assert RegionTrack.open(audio).get(bird.id).label == "owl"
    assert RegionTrack.open(audio).get(bird.id).note == "heard twice"
    assert a.undo()  # a undoes its relabel only
    reopened = RegionTrack.open(audio)
    assert reopened.get(bird.id).label == "bird" and reopened.get(bird.id).note == "heard twice"
    assert reopened.get(frog.id).label == "frog"


def test_reimporting_a_file_with_region_ids_never_reverts_later_edits_and_its_undo_deletes_nothing(audio, tmp_path):
    from engine.annotations.formats import read_regions, write_regions

    a = RegionTrack.open(audio)
    bird = a.add(1, 2, "bird")
    a.add(5, 6, "frog")
    exported = write_regions(tmp_path / "x.json", a.accepted(), "labelstudio")
    a.update(bird.id, label="owl", end_s=3.0)  # the person's fix after the export
    imported = [g for v in read_regions(exported).values() for g in v]
    a.replace_all(imported)
    on_disk = RegionTrack.open(audio)
    assert on_disk.get(bird.id).label == "owl" and on_disk.get(bird.id).end_s == 3.0  # the fix stays
    spans = sorted((r.start_s, r.end_s, r.label) for r in on_disk.regions)
    assert spans == [(1, 2, "bird"), (1, 3, "owl"), (5, 6, "frog")]  # the file's bird kept beside it, frog once
    assert a.undo()  # undoing the import removes only what it added
    assert sorted((r.start_s, r.end_s, r.label) for r in RegionTrack.open(audio).regions) == [(1, 3, "owl"),
                                                                                               (5, 6, "frog")]


def test_duplicate_ids_in_one_import_or_one_sidecar_keep_every_region(audio):
    a = RegionTrack.open(audio)
    a.replace_all([Region(1, 2, "a", id="same"), Region(3, 4, "b", id="same"), Region(5, 6, "c", id="same")])
    assert sorted(r.label for r in RegionTrack.open(audio).regions) == ["a", "b", "c"]  # D12
    sidecar = audio.with_name(audio.name + ".earmark-regions.json")
    for name in (sidecar, sidecar.with_name(audio.name + ".earmark-regions.journal")):
        name.unlink(missing_ok=True)
    sidecar.write_text(json.dumps({"format": "earmark-regions", "version": 1, "regions": [
        {"start_s": 1, "end_s": 2, "label": "a", "id": "x"}, {"start_s": 3, "end_s": 4, "label": "b", "id": "x"}]}))
    track = RegionTrack.open(audio)  # D13
    assert sorted(r.label for r in track.regions) == ["a", "b"] and track.warnings
    track.add(10, 11, "new")
    assert sorted(r.label for r in RegionTrack.open(audio).regions) == ["a", "b", "new"]
