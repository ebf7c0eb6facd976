"""A damaged edits file opens the data set with its original labels, is kept aside by name, and is reported
(issue 14, defect 6); bad labels are refused when the data set is read, naming the label and the file (defect 5)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from engine.datasets.edits import EDITS_FILENAME, LabelEdits
from engine.datasets.manifest import read_manifest
from engine.errors import ManifestError

GOOD = {"format": "earmark-label-edits", "version": 1, "clips": {}, "history": []}


def _doc(**clips) -> bytes:
    return json.dumps({**GOOD, "clips": clips}).encode()


def _relabelled(label) -> bytes:
    return json.dumps({**GOOD, "clips": {"dog/a.wav": {"original_label": "dog", "label": label, "flags": [],
                                                        "removed_flags": []}},
                       "history": [{"clip": "dog/a.wav", "action": "relabel", "old": "dog", "new": label,
                                    "time": "2026-12-02T10:00:00.000Z", "via": None}]}).encode()


DAMAGED = {
    "deep nesting": (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    "a list as a label": (_relabelled(["cat"]), "is a list, not text"),
    "a number as a label": (_relabelled(7), "is a int, not text"),
    "a blank label": (_relabelled("   "), "is blank"),
    "a 201-character label": (_relabelled("x" * 201), "has 201 characters"),
    "an escape in a label": (_relabelled("cat\x1b[2J"), "control character U+001B"),
    "truncated JSON": (_relabelled("cat")[:70], "not valid JSON"),
    "not UTF-8": (b'{"format": "\xff\xfe"}', "not UTF-8"),
    "a list, not an object": (b"[1, 2]", "not an Earmark label-edits file"),
    "flags as text": (_doc(**{"dog/a.wav": {"label": None, "flags": "doubtful"}}), "flags must be a list"),
    "an unknown field": (_doc(**{"dog/a.wav": {"label": "cat", "colour": "red"}}), "malformed entry"),
    "a history entry of the wrong shape": (json.dumps({**GOOD, "history": [{"clip": "x", "what": 1}]}).encode(),
                                           "history entry 1: malformed"),
    "an unknown action": (json.dumps({**GOOD, "history": [{"clip": "x", "action": "delete", "old": None,
                                                           "new": None, "time": "t"}]}).encode(), "unknown action"),
    "version missing": (json.dumps({"format": "earmark-label-edits", "clips": {}, "history": []}).encode(),
                        "version None is not supported"),
}


@pytest.fixture
def folders(tmp_path, write_wav):
    write_wav("data/dog/a.wav", np.zeros(800, np.float32), 8000)
    write_wav("data/cat/b.wav", np.zeros(800, np.float32), 8000)
    return tmp_path / "data"


@pytest.mark.parametrize("name", list(DAMAGED))
def test_a_damaged_edits_file_opens_the_original_labels_and_is_kept_aside(folders, name):
    data, reason = DAMAGED[name]
    (folders / EDITS_FILENAME).write_bytes(data)
    manifest = read_manifest(folders, "folders")  # no traceback: RecursionError, TypeError, ... are gone
    assert sorted((c.path.name, c.label) for c in manifest.clips) == [("a.wav", "dog"), ("b.wav", "cat")]
    assert "audited labels applied" not in manifest.notes
    [warning] = [w for w in manifest.warnings if w.code == "edits-damaged"]
    [aside] = folders.glob("earmark-labels.damaged-*.json")
    assert aside.read_bytes() == data  # kept, byte for byte
    assert reason in warning.message
    assert str(folders / EDITS_FILENAME) in warning.message and aside.name in warning.message
    assert not (folders / EDITS_FILENAME).exists()
    # the next edit starts a fresh file; the damaged one stays aside
    edits = LabelEdits.for_manifest(read_manifest(folders, "folders", use_edits=False))
    assert edits.warnings == []
    edits.relabel("dog/a.wav", "cat")
    assert read_manifest(folders, "folders").class_counts() == {"cat": 2, "dog": 0}
    assert aside.read_bytes() == data


def test_a_file_damaged_while_open_is_set_aside_at_the_next_save(folders):
    edits = LabelEdits.for_manifest(read_manifest(folders, "folders", use_edits=False))
    edits.relabel("dog/a.wav", "cat")
    (folders / EDITS_FILENAME).write_text('{"format": "earmark-label-edits", "version": 1, "clips": [')
    edits.flag("cat/b.wav")  # saved: the damaged file is set aside, this object's edits kept
    assert edits.warnings and "not valid JSON" in edits.warnings[0].message
    assert len(list(folders.glob("earmark-labels.damaged-*.json"))) == 1
    assert [(h.action, h.new) for h in LabelEdits.open(folders).history] == [("relabel", "cat"), ("flag", "doubtful")]


def test_two_damaged_files_in_one_second_are_both_kept(folders):
    for text in ("{one", "{two"):
        (folders / EDITS_FILENAME).write_text(text)
        read_manifest(folders, "folders")
    assert sorted(p.read_text() for p in folders.glob("earmark-labels.damaged-*.json")) == ["{one", "{two"]


@pytest.mark.parametrize("label, problem", [
    ("x" * 201, "has 201 characters"), ("a\tb", "control character U+0009"), ("evil\u202eoops", "U+202E"),
])
def test_bad_labels_in_a_csv_are_refused_naming_label_file_and_line(folders, label, problem):
    csv = folders / "list.csv"
    csv.write_text(f"path,label\ndog/a.wav,dog\ncat/b.wav,\"{label}\"\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=re.escape(problem)) as info:
        read_manifest(csv, "csv")
    assert f"{csv}, line 3" in str(info.value) and repr(label)[:40] in str(info.value)


def test_bad_labels_in_esc50_and_folder_names_are_refused(tmp_path, write_wav):
    write_wav("esc/audio/1-1-A-0.wav", np.zeros(800, np.float32), 8000)
    meta = tmp_path / "esc" / "meta"
    meta.mkdir()
    (meta / "esc50.csv").write_text("filename,fold,target,category,esc10,src_file,take\n"
                                    f"1-1-A-0.wav,1,0,{'y' * 250},False,1,A\n")
    with pytest.raises(ManifestError, match=r"esc50\.csv, line 2: the label 'yyy.*has 250 characters"):
        read_manifest(tmp_path / "esc", "esc50")
    long_name = "z" * 230
    write_wav(f"folders/{long_name}/a.wav", np.zeros(800, np.float32), 8000)
    write_wav("folders/cat/b.wav", np.zeros(800, np.float32), 8000)
    with pytest.raises(ManifestError, match="the folder name, used as the label, 'zzz.*has 230 characters") as info:
        read_manifest(tmp_path / "folders", "folders")
    assert str(tmp_path / "folders" / long_name) in str(info.value)


def test_relabelling_to_a_bad_label_is_refused_before_saving(folders):
    edits = LabelEdits.for_manifest(read_manifest(folders, "folders", use_edits=False))
    for bad in ("", "   ", "x" * 201, "cat\x00", "\x1b[31mred"):
        with pytest.raises(ValueError, match="dog/a.wav: the label"):
            edits.relabel("dog/a.wav", bad)
    assert not (folders / EDITS_FILENAME).exists()


def test_a_damaged_file_that_cannot_be_set_aside_is_never_written_over(folders, monkeypatch):
    from engine.errors import SaveError

    def refuse(_path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("engine.datasets.edits.set_aside", refuse)
    (folders / EDITS_FILENAME).write_bytes(b"{damaged")
    manifest = read_manifest(folders, "folders")
    assert sorted(c.label for c in manifest.clips) == ["cat", "dog"]
    [warning] = manifest.warnings
    assert "could not be set aside" in warning.message and "left as it is" in warning.message
    edits = LabelEdits.for_manifest(read_manifest(folders, "folders", use_edits=False))
    with pytest.raises(SaveError, match="nothing was written over it"):
        edits.relabel("dog/a.wav", "cat")
    assert (folders / EDITS_FILENAME).read_bytes() == b"{damaged"
    assert edits.label_of("dog/a.wav") == "dog" and edits.history == []
