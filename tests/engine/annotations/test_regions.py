"""Regions of a recording: edits saved at once in a sidecar with a history, undo/redo, audio untouched."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from engine.annotations.regions import (
    ACCEPTED,
    PENDING,
    REJECTED,
    SUGGESTION,
    Region,
    RegionError,
    RegionTrack,
    sidecar_path,
)
from engine.errors import SaveError


@pytest.fixture
def audio(write_wav):
    rng = np.random.default_rng(1)
    return write_wav("rec/long.wav", 0.1 * rng.standard_normal(8000 * 3).astype(np.float32), 8000)


def _saved(audio):
    """What is on disk: the snapshot with the journal of later changes applied, as one document."""
    return RegionTrack.open(audio, autosave=False).to_json()


def test_every_edit_is_saved_at_once_with_its_history_and_the_audio_is_untouched(audio):
    digest = hashlib.sha256(audio.read_bytes()).hexdigest()
    track = RegionTrack.open(audio)
    a = track.add(1.5, 0.5, "bird", note="faint")  # either order
    assert (a.start_s, a.end_s) == (0.5, 1.5)
    doc = _saved(audio)
    assert doc["format"] == "earmark-regions" and doc["audio"] == "long.wav"
    assert doc["regions"] == [a.to_json()]
    track.update(a.id, label="frog")
    track.update(a.id, start_s=0.25, end_s=1.75, low_hz=300.0, high_hz=2000.0)
    b = track.add(2.0, 2.5, "bird")
    track.remove(b.id)
    doc = _saved(audio)
    assert [c["action"] for c in doc["history"]] == ["add", "label", "update", "add", "remove"]
    assert doc["history"][1]["before"][0]["label"] == "bird" and doc["history"][1]["after"][0]["label"] == "frog"
    assert doc["regions"] == [{**a.to_json(), "label": "frog", "start_s": 0.25, "end_s": 1.75,
                               "low_hz": 300.0, "high_hz": 2000.0}]
    assert hashlib.sha256(audio.read_bytes()).hexdigest() == digest
    reopened = RegionTrack.open(audio)
    assert reopened.regions == track.regions and len(reopened.history) == 5


def test_undo_and_redo_walk_the_changes_and_are_recorded(audio):
    track = RegionTrack.open(audio)
    seen = []
    track.subscribe(seen.append)
    a = track.add(0.0, 1.0, "bird")
    track.update(a.id, label="frog")
    assert track.undo() and track.get(a.id).label == "bird"
    assert track.undo() and track.regions == []
    assert not track.undo()
    assert track.redo() and track.get(a.id).label == "bird"
    assert track.redo() and track.get(a.id).label == "frog"
    assert not track.redo()
    doc = _saved(audio)
    assert [(c["action"], c["via"]) for c in doc["history"]] == [
        ("add", None), ("label", None), ("label", "undo"), ("add", "undo"), ("add", "redo"), ("label", "redo")]
    assert doc["regions"][0]["label"] == "frog"
    assert len(seen) == 6 and seen[-1].via == "redo"
    track.undo()
    track.add(2.0, 2.2, "x")  # a new edit clears the redo stack
    assert not track.can_redo


def test_suggestions_never_overwrite_what_a_person_accepted(audio):
    track = RegionTrack.open(audio)
    mine = track.add(0.0, 1.0, "bird")
    first = track.suggest([Region(0.2, 0.8, "bird"), Region(1.2, 1.8, "frog"), Region(2.0, 2.5, "bird")])
    assert len(first) == 2  # the one over my bird is dropped
    assert all(s.source == SUGGESTION and s.state == PENDING for s in first)
    frog, bird = first
    track.accept(frog.id, label="toad")
    track.reject(bird.id)
    again = track.suggest([Region(1.0, 2.0, "toad"), Region(2.0, 2.5, "bird"), Region(2.6, 2.9, "frog")])
    assert [s.label for s in again] == ["frog"]
    states = {r.id: (r.label, r.state) for r in track.regions}
    assert states[mine.id] == ("bird", ACCEPTED)
    assert states[frog.id] == ("toad", ACCEPTED) and states[bird.id] == ("bird", REJECTED)
    assert [r.label for r in track.accepted()] == ["bird", "toad"]
    track.suggest([])  # clears pending only
    assert track.suggestions(PENDING) == [] and len(track.regions) == 3


def test_bad_regions_are_refused_with_a_reason(audio):
    track = RegionTrack.open(audio)
    with pytest.raises(RegionError, match="start"):
        track.add(-1.0, 1.0)
    with pytest.raises(RegionError, match="both edges"):
        track.add(0.0, 1.0, low_hz=100.0)
    with pytest.raises(RegionError, match="no region"):
        track.remove("nope")
    sidecar_path(audio).write_text("{not json", encoding="utf-8")
    with pytest.raises(RegionError, match="unreadable"):
        RegionTrack.open(audio)


def test_a_failed_save_keeps_the_old_file_and_the_old_state(audio, monkeypatch):
    track = RegionTrack.open(audio)
    track.add(0.0, 1.0, "bird")
    journal = sidecar_path(audio).with_name("long.wav.earmark-regions.journal")
    before = sidecar_path(audio).read_bytes(), journal.read_bytes()

    def fail(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("engine.annotations.sidecar.os.write", fail)
    with pytest.raises(SaveError, match="disk is full"):
        track.add(1.0, 2.0, "frog")
    assert [r.label for r in track.regions] == ["bird"] and len(track.history) == 1
    assert (sidecar_path(audio).read_bytes(), journal.read_bytes()) == before


def test_a_damaged_sidecar_is_refused_by_name_never_with_another_error(audio):
    track = RegionTrack.open(audio)
    track.add(0.5, 1.0, "bird", low_hz=100.0, high_hz=900.0, note="n")
    track.update(track.regions[0].id, label="frog")
    good = sidecar_path(audio).read_bytes()
    rng = np.random.default_rng(4)
    for _ in range(200):
        data = bytearray(good)
        for _ in range(int(rng.integers(1, 6))):
            i = int(rng.integers(0, len(data)))
            data[i] = int(rng.choice(list(b'{}[]",:0123456789.-truefalsn ')))
        sidecar_path(audio).write_bytes(bytes(data))
        try:
            opened = RegionTrack.open(audio)
        except RegionError as exc:
            assert sidecar_path(audio).name in str(exc)
        else:
            assert all(0 <= r.start_s <= r.end_s for r in opened.regions)


def test_accepting_a_suggestion_as_a_label_already_there_extends_that_region(tmp_path):
    """Probe round 3: accepting a suggestion *as* the label of an overlapping region made two
    stacked regions ("bo|bored")."""
    from engine.annotations.regions import PENDING, SUGGESTION, Region, RegionTrack

    track = RegionTrack(tmp_path / "rec.wav", autosave=False)
    mine = track.add(4.0, 6.0, "bored")
    (suggestion,) = track.suggest([Region(5.0, 7.0, "neutral", source=SUGGESTION, state=PENDING)])
    merged = track.accept(suggestion.id, label="bored")
    assert [(r.start_s, r.end_s, r.label) for r in track.accepted()] == [(4.0, 7.0, "bored")]
    assert merged.id == mine.id and track.suggestions(PENDING) == []
    track.undo()
    assert sorted((r.start_s, r.label, r.state) for r in track.regions) == [(4.0, "bored", "accepted"),
                                                                           (5.0, "neutral", "pending")]
