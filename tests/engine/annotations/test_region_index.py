"""The time index a track keeps edit by edit agrees with a full sort after any edits; an import job
can be cancelled and then changes nothing (issue 25, D10)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.annotations.importing import ImportRequest, import_job
from engine.annotations.regions import ACCEPTED, PENDING, SUGGESTION, Region, RegionTrack
from engine.jobs import Cancelled, CancelToken


@pytest.fixture
def audio(write_wav):
    return write_wav("rec.wav", np.zeros(1600, np.float32), 8000)


def test_the_index_matches_a_full_sort_after_random_edits(audio):
    rng = np.random.default_rng(7)
    track = RegionTrack.open(audio)
    track.replace_all([Region(float(s), float(s) + float(d), f"l{i % 3}")
                       for i, (s, d) in enumerate(zip(rng.uniform(0, 100, 300), rng.uniform(0, 5, 300), strict=True))])
    track.suggest([Region(float(s), float(s) + 1, "sug") for s in rng.uniform(0, 100, 20)])
    for step in range(300):
        ids = [r.id for r in track.regions]
        kind = step % 5
        if kind == 0:
            track.add(float(rng.uniform(0, 100)), float(rng.uniform(0, 100)), f"n{step}")
        elif kind == 1:
            track.update(ids[int(rng.integers(len(ids)))], start_s=float(rng.uniform(0, 50)), end_s=60.0)
        elif kind == 2:
            track.remove(ids[int(rng.integers(len(ids)))])
        elif kind == 3:
            track.update(ids[int(rng.integers(len(ids)))], label=f"x{step}")
        else:
            track.undo()
    everything = sorted(track._regions.values(), key=lambda r: (r.start_s, r.end_s, r.id))
    assert track.regions == everything
    for t0, t1 in [(0, 100), (10, 12), (55, 55), (99, 200)]:
        assert track.between(t0, t1) == [r for r in everything if r.end_s >= t0 and r.start_s <= t1]
    assert track.count(state=ACCEPTED) == sum(r.state == ACCEPTED for r in everything)
    assert track.count(SUGGESTION, PENDING) == sum(r.source == SUGGESTION and r.state == PENDING for r in everything)
    assert set(track.labels()) == {r.label for r in everything if r.label}
    assert RegionTrack.open(audio).regions == everything  # and the disk agrees


def test_a_cancelled_import_changes_nothing(audio, tmp_path):
    labels = tmp_path / "big.txt"
    labels.write_text("".join(f"{i * 0.01:.2f}\t{i * 0.01 + 0.005:.3f}\tx\n" for i in range(30_000)))
    track = RegionTrack.open(audio)
    track.add(1, 2, "mine")
    token = CancelToken()
    seen = []

    def progress(p):
        seen.append(p)
        if p.step >= 10_000:
            token.cancel()

    with pytest.raises(Cancelled):
        import_job(ImportRequest(track, labels), on_progress=progress, cancel=token)
    assert [r.label for r in track.regions] == ["mine"]
    assert [r.label for r in RegionTrack.open(audio).regions] == ["mine"]
    assert any(p.total == 30_000 for p in seen)
