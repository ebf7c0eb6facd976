"""Hostile data-set metadata: random and malformed esc50.csv, CSV layouts, EmoDB names, edits files.

Every case ends in :class:`ManifestError` naming a file or folder, or in a sound manifest:
every clip exists, has a non-empty label that the label list holds, and a group.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.datasets.manifest import ESC50_COLUMNS, read_manifest
from engine.errors import ManifestError

from .support import FUZZ, encode, sine

pytestmark = pytest.mark.timeout(120)

CLIP = encode(sine(400, 8000), 8000)
NAMES = ["1-100-A-0.wav", "1-101-A-1.wav", "2-5-B-0.wav"]


def read_or_refuse(root, layout):
    try:
        manifest = read_manifest(root, layout)
    except ManifestError as exc:
        assert str(exc).strip(), "empty error message"
        assert os.fspath(root) in str(exc) or "line" in str(exc) or "layout" in str(exc), str(exc)
        return None
    assert manifest.clips
    for clip in manifest.clips:
        assert clip.path.is_file(), clip.path
        assert isinstance(clip.label, str) and clip.label.strip()
        assert clip.label in manifest.labels
        assert isinstance(clip.group, str) and clip.group
    return manifest


def _fresh(tmp_path, name):
    root = tmp_path / name
    shutil.rmtree(root, ignore_errors=True)
    return root


def _write_audio(folder, names=NAMES):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(CLIP)


CELL = st.one_of(
    st.sampled_from(["", " ", "0", "1", "-1", "5", "99999999999999999999", "1.5", "nan", "dog", "..",
                     "../../etc/passwd", "/etc/passwd", "a\x00b", "x" * 300, "1-100-A-0.wav", "1-101-A-1.wav",
                     "C:\\audio\\x.wav", "\ufeffdog", "\u202e"]),
    st.text(max_size=20),
)


def _csv_text(header, rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@FUZZ
@given(rows=st.lists(st.lists(CELL, min_size=0, max_size=9), max_size=6),
       header=st.one_of(st.just(list(ESC50_COLUMNS)), st.lists(st.sampled_from(ESC50_COLUMNS), max_size=8)))
def test_esc50_rows(tmp_path, rows, header):
    root = _fresh(tmp_path, "esc50")
    _write_audio(root / "audio")
    (root / "meta").mkdir()
    (root / "meta" / "esc50.csv").write_text(_csv_text(header, rows), encoding="utf-8")
    read_or_refuse(root, "esc50")


@FUZZ
@given(data=st.binary(max_size=2000), layout=st.sampled_from(["esc50", "csv"]))
def test_random_bytes_as_metadata(tmp_path, data, layout):
    root = _fresh(tmp_path, "bytes")
    _write_audio(root / "audio")
    if layout == "esc50":
        (root / "meta").mkdir()
        target = root / "meta" / "esc50.csv"
    else:
        target = root / "list.csv"
    target.write_bytes(b"filename,fold,target,category,esc10,src_file,take\n" + data if data[:1] == b"+" else data)
    read_or_refuse(root if layout == "esc50" else target, layout)


@FUZZ
@given(rows=st.lists(st.lists(CELL, min_size=0, max_size=5), max_size=6),
       header=st.lists(st.sampled_from(["path", "label", "group", "fold", "extra", ""]), max_size=5))
def test_csv_layout_rows(tmp_path, rows, header):
    root = _fresh(tmp_path, "csvset")
    _write_audio(root)
    target = root / "clips.csv"
    target.write_text(_csv_text(header, rows), encoding="utf-8")
    read_or_refuse(target, "csv")


EMODB_CHARS = st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",))


@FUZZ
@given(names=st.lists(st.one_of(
    st.from_regex(r"\A\d\d[a-z]\d\d[A-Z][a-z]\.wav\Z"),
    st.sampled_from(["03a01Wa.wav", "16b10Lb.wav", "03a01Xa.wav", "3a01Wa.wav", "03a01wa.wav", ".wav",
                     "03A01Wa.WAV", "99z99Nz.flac"]),
    st.text(EMODB_CHARS, min_size=1, max_size=30).map(lambda s: s + ".wav"),
), min_size=1, max_size=6, unique=True))
def test_emodb_names(tmp_path, names):
    root = _fresh(tmp_path, "emodb")
    wav = root / "wav"
    wav.mkdir(parents=True)
    usable = []
    for name in names:
        try:
            (wav / name).write_bytes(CLIP)
            usable.append(name)
        except OSError:  # a name this file system refuses (too long, ...)
            continue
    manifest = read_or_refuse(root, "emodb")
    if manifest is not None:
        assert {c.speaker for c in manifest.clips} == {c.path.name[:2] for c in manifest.clips}


@FUZZ
@given(doc=st.one_of(
    st.binary(max_size=300),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                 lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                 max_leaves=12).map(lambda v: json.dumps(v).encode()),
))
def test_damaged_label_edits_file(tmp_path, doc):
    """A corrupt or foreign ``earmark-labels.json`` beside the data: the data set opens with its
    original labels and the file is kept aside, byte for byte, and reported (never a traceback)."""
    root = _fresh(tmp_path, "withedits")
    _write_audio(root / "dog", NAMES[:2])
    _write_audio(root / "cat", NAMES[2:])
    (root / "earmark-labels.json").write_bytes(doc)
    try:
        manifest = read_manifest(root, "folders")
    except ManifestError as exc:  # only a file from a newer Earmark is refused (and left alone)
        assert "newer Earmark" in str(exc) and (root / "earmark-labels.json").read_bytes() == doc
        return
    assert read_or_refuse(root, "folders") is not None
    if (root / "earmark-labels.json").exists():  # used as it is: it was valid
        return
    [aside] = root.glob("earmark-labels.damaged-*.json")
    assert aside.read_bytes() == doc
    assert sorted(c.label for c in manifest.clips) == ["cat", "dog", "dog"]
    assert [w.code for w in manifest.warnings] == ["edits-damaged"] and aside.name in manifest.warnings[0].message


NAME_PARTS = st.sampled_from(["", ".", "._", "a", "b", "x y", "é", "01"])
SUFFIX = st.sampled_from([".wav", ".WAV", ".flac", ".ogg", ".mp3", ".opus", ".aiff", ".txt", ".json", "", ".wav.bak"])


@FUZZ
@given(files=st.lists(st.tuples(st.sampled_from(["dog", "cat", ".hidden", "dog/sub", "cat/.cache", "dog/a/b/c"]),
                                NAME_PARTS, NAME_PARTS, SUFFIX), min_size=1, max_size=12))
def test_folder_trees(tmp_path, files):
    """The folders layout lists exactly the visible audio files under each class folder, at any depth,
    and counts everything else it left out."""
    root = _fresh(tmp_path, "tree")
    root.mkdir()
    expected, written = set(), set()
    for folder, head, tail, suffix in files:
        name = f"{head}{tail}{suffix}"
        path = root / folder / name
        if path in written or name in ("", ".", "..", "._"):
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(CLIP)
        except OSError:  # a file where a folder goes, or the reverse
            continue
        written.add(path)
        hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
        if not hidden and suffix.lower() in (".wav", ".flac", ".ogg", ".mp3", ".opus", ".aiff"):
            expected.add(path.relative_to(root).as_posix())
    manifest = read_or_refuse(root, "folders")
    got = set() if manifest is None else {c.path.relative_to(root.resolve()).as_posix() for c in manifest.clips}
    assert got == expected
    if manifest is not None:
        assert all(c.label == c.path.relative_to(root.resolve()).parts[0] for c in manifest.clips)
        left_out = len(written) - len(expected)
        hidden_dirs = {p.relative_to(root).parts[0] for p in written if p.relative_to(root).parts[0] == ".hidden"}
        counted = sum(manifest.skipped.values())
        assert counted <= left_out + len(hidden_dirs) and (counted > 0) == (left_out > 0)


def test_control_real_layouts_read(tmp_path):
    """The control: a well-formed ESC-50 layout reads exactly."""
    root = tmp_path / "ok"
    _write_audio(root / "audio")
    (root / "meta").mkdir()
    rows = [[NAMES[0], 1, 0, "dog", "True", "100", "A"], [NAMES[1], 1, 1, "rain", "False", "101", "A"],
            [NAMES[2], 2, 0, "dog", "True", "5", "B"]]
    (root / "meta" / "esc50.csv").write_text(_csv_text(list(ESC50_COLUMNS), rows))
    manifest = read_or_refuse(root, "esc50")
    assert manifest.labels == ["dog", "rain"] and [c.fold for c in manifest.clips] == [1, 1, 2]
