"""Which files a data set is made of: nothing dropped or added silently (issue 14, defects 7 and 12).

The folders layout recurses, reads every format engine.audio.io decodes, leaves out hidden and
macOS AppleDouble files (in every layout) and says how many it left out and why; repeated CSV
rows are reported and read once; one clip under two labels is refused, naming both.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from engine.audio.io import load_audio
from engine.datasets.manifest import read_manifest
from engine.datasets.synth import write_emodb, write_esc50
from engine.errors import ManifestError

APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(4000)  # what macOS leaves on FAT/SMB
WRITERS = {  # suffix -> soundfile format and subtype
    ".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS"), ".opus": ("OGG", "OPUS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"), ".aiff": ("AIFF", "PCM_16"), ".aif": ("AIFF", "PCM_16"),
    ".au": ("AU", "PCM_16"), ".caf": ("CAF", "PCM_16"), ".w64": ("W64", "PCM_16"),
}


def _write(path, suffix=".wav", rate=16000):
    fmt, subtype = WRITERS[suffix]
    path.parent.mkdir(parents=True, exist_ok=True)
    tone = (0.3 * np.sin(np.arange(rate // 2) * 2 * np.pi * 440 / rate)).astype(np.float32)
    sf.write(path, tone, rate, format=fmt, subtype=subtype)
    return path


def test_folders_recurse_read_every_loader_format_and_count_what_they_leave_out(tmp_path):
    root = tmp_path / "data"
    _write(root / "dog" / "a.wav")
    _write(root / "dog" / "session2" / "b.wav")
    _write(root / "dog" / "session2" / "deeper" / "c.flac", ".flac")
    _write(root / "dog" / "d.mp3", ".mp3")
    _write(root / "cat" / "e.opus", ".opus")
    _write(root / "cat" / "f.aiff", ".aiff")
    _write(root / "cat" / "g.ogg", ".ogg")
    _write(root / "cat" / ".hidden.wav")  # hidden: not training data
    (root / "cat" / "._e.opus").write_bytes(APPLEDOUBLE)  # AppleDouble
    (root / "dog" / "session2" / "._b.wav").write_bytes(APPLEDOUBLE)
    (root / "cat" / "notes.txt").write_text("recorded in May")
    _write(root / "cat" / ".cache" / "h.wav")  # a hidden folder
    _write(root / ".Trash" / "old.wav")  # a hidden class folder
    _write(root / "stray.wav")  # beside the class folders
    manifest = read_manifest(root, "folders")
    got = sorted((c.path.relative_to(root).as_posix(), c.label) for c in manifest.clips)
    assert got == [("cat/e.opus", "cat"), ("cat/f.aiff", "cat"), ("cat/g.ogg", "cat"), ("dog/a.wav", "dog"),
                   ("dog/d.mp3", "dog"), ("dog/session2/b.wav", "dog"), ("dog/session2/deeper/c.flac", "dog")]
    assert {c.group for c in manifest.clips if c.label == "dog"} == {
        "dog/a", "dog/d", "dog/session2/b", "dog/session2/deeper/c"}
    assert manifest.skipped == {"hidden": 3, "AppleDouble": 2, "not audio": 1, "outside a class folder": 1}
    [warning] = manifest.warnings
    assert warning.code == "skipped-files"
    assert "left out 7 file(s)" in warning.message and "2 macOS AppleDouble" in warning.message
    assert str(root) in warning.message
    for clip in manifest.clips:  # every clip it lists, the loader reads
        assert len(load_audio(clip.path, 16000).samples) > 1000


@pytest.mark.parametrize("suffix", sorted(WRITERS))
def test_every_format_the_loader_reads_is_a_clip(tmp_path, suffix):
    if WRITERS[suffix][0] not in sf.available_formats():
        pytest.skip(f"this libsndfile has no {WRITERS[suffix][0]}")
    from engine.audio.io import AUDIO_SUFFIXES

    assert suffix in AUDIO_SUFFIXES
    root = tmp_path / "data"
    _write(root / "dog" / f"a{suffix}", suffix)
    _write(root / "cat" / "b.wav")
    manifest = read_manifest(root)
    assert manifest.layout == "folders" and sorted(c.path.name for c in manifest.clips) == [f"a{suffix}", "b.wav"]
    assert manifest.skipped == {}


def test_appledouble_files_no_longer_abort_emodb(tmp_path):
    root = write_emodb(tmp_path / "emodb", n_speakers=2, sentences_per_speaker=1, seconds=0.2, sample_rate_hz=8000)
    (root / "wav" / "._03a01Wa.wav").write_bytes(APPLEDOUBLE)
    (root / "wav" / ".03a01Fa.wav").write_bytes((root / "wav" / "03a01Wa.wav").read_bytes())
    manifest = read_manifest(root)
    assert manifest.layout == "emodb" and len(manifest.clips) == 14
    assert manifest.skipped == {"AppleDouble": 1, "hidden": 1}
    assert not any(c.path.name.startswith(".") for c in manifest.clips)


def test_appledouble_rows_in_esc50_and_csv_are_left_out_and_counted(tmp_path):
    root = write_esc50(tmp_path / "esc", n_classes=2, clips_per_class=2, seconds=0.2, sample_rate_hz=8000)
    meta = root / "meta" / "esc50.csv"
    first = meta.read_text().splitlines()[1]
    (root / "audio" / "._1-100000-A-0.wav").write_bytes(APPLEDOUBLE)
    meta.write_text(meta.read_text() + first.replace("1-100000-A-0.wav", "._1-100000-A-0.wav") + "\n")
    manifest = read_manifest(root)
    assert len(manifest.clips) == 4 and manifest.skipped == {"AppleDouble": 1}
    assert "esc50.csv, line 6" in manifest.warnings[0].message
    listing = root / "audio" / "list.csv"
    listing.write_text("path,label\n1-100000-A-0.wav,dog\n._1-100000-A-0.wav,dog\n1-101000-A-1.wav,rooster\n")
    manifest = read_manifest(listing, "csv")
    assert len(manifest.clips) == 2 and manifest.skipped == {"AppleDouble": 1}


def test_repeated_csv_rows_are_read_once_and_reported(tmp_path):
    _write(tmp_path / "a.wav")
    _write(tmp_path / "b.wav")
    listing = tmp_path / "list.csv"
    listing.write_text("path,label,group\na.wav,dog,g1\nb.wav,cat,g2\na.wav,dog,g1\n./a.wav,dog,g1\n")
    manifest = read_manifest(listing, "csv")
    assert [(c.path.name, c.label) for c in manifest.clips] == [("a.wav", "dog"), ("b.wav", "cat")]
    assert manifest.skipped == {"duplicate row": 2}
    [warning] = manifest.warnings
    assert "2 repeated row(s)" in warning.message and f"{listing}, line 4 repeats {listing}, line 2" in warning.message


def test_one_clip_under_two_labels_is_refused_naming_the_file_and_both_labels(tmp_path):
    _write(tmp_path / "a.wav")
    _write(tmp_path / "b.wav")
    listing = tmp_path / "list.csv"
    listing.write_text("path,label\na.wav,dog\nb.wav,cat\na.wav,cat\n")
    with pytest.raises(ManifestError, match="two labels, 'dog' .*line 2.* and 'cat' .*line 4") as info:
        read_manifest(listing, "csv")
    assert str((tmp_path / "a.wav").resolve()) in str(info.value)


def test_one_clip_in_two_groups_or_folds_is_refused(tmp_path):
    _write(tmp_path / "a.wav")
    _write(tmp_path / "b.wav")
    listing = tmp_path / "list.csv"
    listing.write_text("path,label,fold\na.wav,dog,1\nb.wav,cat,2\na.wav,dog,3\n")
    with pytest.raises(ManifestError, match="different split groups or folds"):
        read_manifest(listing, "csv")


def test_one_file_linked_into_two_class_folders_is_refused(tmp_path):
    root = tmp_path / "data"
    real = _write(root / "dog" / "a.wav")
    _write(root / "cat" / "b.wav")
    (root / "cat" / "a-copy.wav").symlink_to(real)
    with pytest.raises(ManifestError, match="two labels, 'cat'.* and 'dog'"):
        read_manifest(root, "folders")
