"""Label edits: saved at once beside the data set, with a history, undo/redo, never touching the audio."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from engine.datasets.csv_file import write_manifest_csv
from engine.datasets.edits import (
    DOUBTFUL,
    EDITS_FILENAME,
    REVIEWED,
    LabelEdits,
    clip_key,
    load_edits,
)
from engine.datasets.manifest import read_manifest
from engine.errors import ManifestError, SaveError

NAMES = ["03a01Wa.wav", "03a02Fa.wav", "08b01Na.wav", "08b02Ta.wav"]


@pytest.fixture
def emodb(tmp_path, write_wav):
    rng = np.random.default_rng(0)
    for name in NAMES:
        write_wav(f"emodb/wav/{name}", 0.1 * rng.standard_normal(1600).astype(np.float32), 8000)
    return tmp_path / "emodb"


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*.wav"))}


def _saved(root):
    return json.loads((root / EDITS_FILENAME).read_text())


def test_each_change_is_saved_at_once_with_its_history(emodb):
    before = _digest(emodb)
    manifest = read_manifest(emodb, "emodb", use_edits=False)
    edits = LabelEdits.for_manifest(manifest)
    key = "wav/03a01Wa.wav"
    assert edits.label_of(key) == "anger"

    edits.relabel(key, "boredom")
    doc = _saved(emodb)
    assert doc["clips"][key]["label"] == "boredom"
    assert doc["clips"][key]["original_label"] == "anger"
    assert [(h["clip"], h["action"], h["old"], h["new"]) for h in doc["history"]] == [
        (key, "relabel", "anger", "boredom")
    ]
    assert doc["history"][0]["time"].endswith("Z")

    edits.flag("wav/08b01Na.wav", DOUBTFUL)
    edits.mark_reviewed(key)
    doc = _saved(emodb)
    assert doc["clips"]["wav/08b01Na.wav"]["flags"] == [DOUBTFUL]
    assert doc["clips"][key]["flags"] == [REVIEWED]
    assert len(doc["history"]) == 3
    assert _digest(emodb) == before  # the audio is never touched


def test_undo_and_redo_are_changes_of_their_own(emodb):
    edits = LabelEdits.for_manifest(read_manifest(emodb, "emodb", use_edits=False))
    key = "wav/03a02Fa.wav"
    seen = []
    edits.subscribe(seen.append)
    edits.relabel(key, "sadness")
    edits.flag(key)
    assert edits.undo().action == "unflag"
    assert edits.undo().new == "happiness"
    assert edits.undo() is None
    assert edits.label_of(key) == "happiness" and edits.flags_of(key) == ()
    assert _saved(emodb)["clips"] == {}  # back to the original: no edits left
    edits.redo()
    assert edits.label_of(key) == "sadness"
    history = [(h["action"], h["old"], h["new"], h["via"]) for h in _saved(emodb)["history"]]
    assert history == [
        ("relabel", "happiness", "sadness", None),
        ("flag", None, DOUBTFUL, None),
        ("unflag", DOUBTFUL, None, "undo"),
        ("relabel", "sadness", "happiness", "undo"),
        ("relabel", "happiness", "sadness", "redo"),
    ]
    assert len(seen) == 5
    # a new edit clears the redo stack
    edits.relabel(key, "fear")
    assert not edits.can_redo


def test_no_op_changes_are_not_recorded(emodb):
    edits = LabelEdits.for_manifest(read_manifest(emodb, "emodb", use_edits=False))
    assert edits.relabel("wav/03a01Wa.wav", "anger") is None
    assert edits.unflag("wav/03a01Wa.wav") is None
    assert not (emodb / EDITS_FILENAME).exists()
    with pytest.raises(ValueError):
        edits.relabel("wav/03a01Wa.wav", "  ")


def test_read_manifest_applies_saved_edits(emodb):
    edits = LabelEdits.for_manifest(read_manifest(emodb, "emodb", use_edits=False))
    edits.relabel("wav/08b02Ta.wav", "anger")
    edits.flag("wav/08b02Ta.wav")
    manifest = read_manifest(emodb, "emodb")
    by_key = {clip_key(c.path, emodb): c for c in manifest.clips}
    assert by_key["wav/08b02Ta.wav"].label == "anger"
    assert by_key["wav/08b02Ta.wav"].flags == (DOUBTFUL,)
    assert manifest.class_counts()["anger"] == 2
    assert read_manifest(emodb, "emodb", use_edits=False).class_counts()["anger"] == 1
    reopened = load_edits(emodb)
    assert reopened.label_of("wav/08b02Ta.wav") == "anger"
    assert len(reopened.history) == 2


def test_a_broken_edits_file_is_set_aside_by_name(emodb):
    (emodb / EDITS_FILENAME).write_text("{not json")
    edits = load_edits(emodb)
    assert edits.history == [] and len(edits.warnings) == 1
    assert EDITS_FILENAME in edits.warnings[0].message and "not valid JSON" in edits.warnings[0].message
    [aside] = emodb.glob("earmark-labels.damaged-*.json")
    assert aside.read_text() == "{not json" and aside.name in edits.warnings[0].message
    assert not (emodb / EDITS_FILENAME).exists()


def test_edits_of_a_newer_version_are_refused_and_left_alone(emodb):
    (emodb / EDITS_FILENAME).write_text('{"format": "earmark-label-edits", "version": 9, "clips": {}, "history": []}')
    with pytest.raises(ManifestError, match="newer Earmark"):
        load_edits(emodb)
    assert (emodb / EDITS_FILENAME).exists()


def test_a_failed_save_keeps_the_old_state(emodb, monkeypatch):
    edits = LabelEdits.for_manifest(read_manifest(emodb, "emodb", use_edits=False))
    edits.relabel("wav/03a01Wa.wav", "fear")
    saved = (emodb / EDITS_FILENAME).read_text()

    def refuse(*_a, **_k):
        raise SaveError("disk full")

    monkeypatch.setattr("engine.datasets.edits.atomic_write_json", refuse)
    with pytest.raises(SaveError):
        edits.relabel("wav/03a01Wa.wav", "neutral")
    assert edits.label_of("wav/03a01Wa.wav") == "fear"
    assert len(edits.history) == 1
    assert (emodb / EDITS_FILENAME).read_text() == saved


def test_export_csv_is_readable_by_the_csv_layout(emodb, tmp_path):
    edits = LabelEdits.for_manifest(read_manifest(emodb, "emodb", use_edits=False))
    edits.relabel("wav/03a01Wa.wav", "neutral")
    out = write_manifest_csv(read_manifest(emodb, "emodb"), emodb / "corrected.csv")
    text = out.read_text().splitlines()
    assert text[0] == "path,label,group,speaker"
    assert "wav/03a01Wa.wav,neutral,03,03" in text
    again = read_manifest(out, "csv", use_edits=False)
    assert sorted(c.label for c in again.clips) == ["happiness", "neutral", "neutral", "sadness"]
    assert {c.group for c in again.clips} == {"03", "08"} == {c.speaker for c in again.clips}
    # elsewhere: absolute paths
    far = write_manifest_csv(read_manifest(emodb, "emodb"), tmp_path / "far" / "c.csv")
    assert far.read_text().splitlines()[1].startswith("/")


def test_csv_layout_keeps_edits_next_to_the_csv(tmp_path, write_wav):
    write_wav("d/a.wav", np.zeros(800, np.float32), 8000)
    write_wav("d/b.wav", np.zeros(800, np.float32), 8000)
    (tmp_path / "d" / "list.csv").write_text("path,label\na.wav,dog\nb.wav,cat\n")
    manifest = read_manifest(tmp_path / "d" / "list.csv", "csv", use_edits=False)
    edits = LabelEdits.for_manifest(manifest)
    edits.relabel("a.wav", "cat")
    assert (tmp_path / "d" / EDITS_FILENAME).exists()
    assert (tmp_path / "d" / "list.csv").read_text() == "path,label\na.wav,dog\nb.wav,cat\n"
    assert read_manifest(tmp_path / "d" / "list.csv", "csv").class_counts() == {"cat": 2, "dog": 0}


def test_the_csv_writer_keeps_every_column_a_clip_carries(emodb, tmp_path):
    """Groups, folds and speakers survive a write and a read (the wizard's data.csv once lost the
    speakers, which turned speaker normalisation off for wizard runs)."""
    from engine.datasets.clips import Clip, Manifest

    original = read_manifest(emodb, "emodb")
    assert all(c.speaker for c in original.clips)
    back = read_manifest(write_manifest_csv(original, tmp_path / "d.csv", relative=False), "csv")
    key = lambda c: (c.path.resolve(), c.label, c.group, c.fold, c.speaker)  # noqa: E731
    assert sorted(map(key, back.clips)) == sorted(map(key, original.clips))
    folded = Manifest(tmp_path, "csv", [Clip(c.path, c.label, c.group, fold=i % 3 + 1) for i, c in
                                        enumerate(original.clips)], original.labels)
    back = read_manifest(write_manifest_csv(folded, tmp_path / "f.csv"), "csv")
    assert [c.fold for c in back.clips] == [c.fold for c in folded.clips]
    assert (tmp_path / "f.csv").read_text().splitlines()[0] == "path,label,group,fold"
