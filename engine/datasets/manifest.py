"""Data set manifests: ESC-50, EmoDB, folder-per-class and CSV layouts become one list of clips.

Every layout yields :class:`Clip` rows with a split ``group`` so that splits can be
grouped (ESC-50: ``src_file``; EmoDB: speaker; CSV: its group column; else the file stem).

What a reader leaves out is counted in :attr:`Manifest.skipped` and said in
:attr:`Manifest.warnings`: hidden files and folders, macOS AppleDouble files (``._x.wav``,
in every layout), files of formats :mod:`engine.audio.io` cannot decode, and repeated rows.
Bad labels (blank, too long, control characters) and one clip under two labels are
refused with :class:`ManifestError` naming the file.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import stat
import unicodedata
from collections import Counter
from dataclasses import replace
from pathlib import Path

from engine.audio.io import AUDIO_SUFFIXES
from engine.datasets.clips import Clip, Manifest, label_problem, shown_label
from engine.datasets.edits import LabelEdits
from engine.errors import ManifestError
from engine.jobs import JobWarning

__all__ = ["AUDIO_SUFFIXES", "EMODB_EMOTIONS", "ESC50_COLUMNS", "LAYOUTS", "Clip", "Manifest", "detect_layout",
           "read_manifest"]

log = logging.getLogger(__name__)
LAYOUTS = ("esc50", "emodb", "folders", "csv")
EMODB_EMOTIONS = {
    "W": "anger", "L": "boredom", "E": "disgust", "A": "fear",
    "F": "happiness", "T": "sadness", "N": "neutral",
}
ESC50_COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")
_EMODB_NAME = re.compile(r"^(\d\d)([a-z]\d\d)([A-Z])([a-z])", re.ASCII)
HIDDEN, APPLEDOUBLE, NOT_AUDIO, NOT_REGULAR, OUTSIDE, DUPLICATE = (
    "hidden", "AppleDouble", "not audio", "not a regular file", "outside a class folder", "duplicate row")
_REASON_TEXT = {
    HIDDEN: "hidden", APPLEDOUBLE: "macOS AppleDouble (._*)", NOT_AUDIO: "not a format the loader reads",
    NOT_REGULAR: "not a regular file", OUTSIDE: "audio beside the class folders, in none of them",
    DUPLICATE: "repeated row(s)",
}


def detect_layout(root: str | os.PathLike) -> str:
    root = Path(root)
    if root.is_file() and root.suffix.lower() == ".csv":
        return "csv"
    if not root.is_dir():
        raise ManifestError(f"{root}: no such data set folder or CSV file")
    if (root / "meta" / "esc50.csv").is_file():
        return "esc50"
    wav_dir = root / "wav"
    if wav_dir.is_dir() and any(_EMODB_NAME.match(p.name) for p in wav_dir.iterdir()):
        return "emodb"
    if _csv_declares_clips(root):
        return "csv"
    if any(_Reading(root).walk(folder, first_only=True) for folder in _class_folders(root)):
        return "folders"
    csvs = sorted(root.glob("*.csv"))
    if len(csvs) == 1:
        return "csv"
    raise ManifestError(
        f"{root}: cannot tell the layout: expected meta/esc50.csv (ESC-50), wav/ with EmoDB names, "
        "a folder per class, or one CSV with path,label columns"
    )


def read_manifest(
    root: str | os.PathLike, layout: str | None = None, *, use_edits: bool = True
) -> Manifest:
    """Read a data set; ``use_edits``: apply the audited label edits saved beside it.

    A damaged edits file is set aside and the original labels are used; that, and every
    file left out, is in the manifest's ``warnings`` (and logged).
    """
    root = Path(root)
    layout = layout or detect_layout(root)
    readers = {"esc50": _read_esc50, "emodb": _read_emodb, "folders": _read_folders, "csv": _read_csv}
    if layout not in readers:
        raise ManifestError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if layout == "csv" and root.is_dir():
        csvs = sorted(root.glob("*.csv"))
        if len(csvs) != 1:
            raise ManifestError(f"{root}: the CSV layout needs one .csv file here, found {len(csvs)}")
        root = csvs[0]
    manifest = readers[layout](root)
    if not manifest.clips:
        raise ManifestError(f"{root}: the data set holds no clips" + _skipped_text(manifest.skipped, " (left out: ")
                            + (")" if manifest.skipped else ""))
    for warning in manifest.warnings:
        log.warning("%s", warning.message)
    if use_edits:
        manifest = _apply_edits(manifest)  # engine.datasets.edits logs its own warnings
    alike = look_alike_labels(manifest)
    if alike is not None:
        log.warning("%s", alike.message)
        manifest = replace(manifest, warnings=[*manifest.warnings, alike])
    return manifest


def look_alike_labels(manifest: Manifest) -> JobWarning | None:
    """A warning when labels differ only in case or Unicode form (``anger``/``Anger``, NFC/NFD
    ``détresse``): each is its own class, which is rarely meant. Nothing is merged: that is the
    person's call (relabel in the Audit tab)."""
    groups: dict[str, list[str]] = {}
    for label in manifest.labels:
        groups.setdefault(unicodedata.normalize("NFKC", label).casefold(), []).append(label)
    alike = [labels for labels in groups.values() if len(labels) > 1]
    if not alike:
        return None
    counts = manifest.class_counts()
    shown = "; ".join(" / ".join(f"{ascii(label)} ({counts.get(label, '?')} clips)" for label in labels)
                      for labels in alike)
    return JobWarning("look-alike-labels", f"{manifest.root}: labels that differ only in case or Unicode form are "
                      f"separate classes: {shown}; relabel them to one if they mean the same")


def _apply_edits(manifest: Manifest) -> Manifest:
    edits = LabelEdits.open(manifest.data_root, manifest.clips)
    warnings = [*manifest.warnings, *edits.warnings]
    if not edits.path.exists():
        return replace(manifest, warnings=warnings)
    clips = edits.apply(manifest.clips)
    labels = sorted(set(manifest.labels) | {c.label for c in clips}, key=_label_order(manifest.labels))
    return replace(manifest, clips=clips, labels=labels, notes=[*manifest.notes, "audited labels applied"],
                   warnings=warnings)


def _label_order(labels: list[str]):
    order = {label: i for i, label in enumerate(labels)}
    return lambda label: (order.get(label, len(order)), label)


class _Reading:
    """One reader's clips with where each came from, and what it left out (by reason)."""

    def __init__(self, source: Path):
        self.source = source
        self.rows: list[tuple[Clip, str]] = []
        self.skipped: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def add(self, clip: Clip, where: str) -> None:
        self.rows.append((clip, where))

    def skip(self, reason: str, what: str) -> None:
        self.skipped[reason] += 1
        self.examples.setdefault(reason, what)

    def walk(self, folder: Path, *, first_only: bool = False, _seen: set | None = None) -> list[Path]:
        """The audio files under ``folder``, in every subfolder, sorted; the rest counted as skipped."""
        seen = _seen if _seen is not None else set()
        try:
            real = folder.resolve()
            if real in seen:  # a symbolic link back up the tree
                return []
            seen.add(real)
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            raise ManifestError(f"{folder}: cannot list the folder ({exc.strerror or exc})") from exc
        found: list[Path] = []
        for entry in entries:
            path = Path(entry.path)
            kind = _kind(entry)
            if kind == "dir":
                if entry.name.startswith("."):
                    self.skip(HIDDEN, f"{path}{os.sep}")
                    continue
                found += self.walk(path, first_only=first_only, _seen=seen)
            elif self.usable(path, kind):
                found.append(path.resolve())
            if first_only and found:
                return found
        return found

    def usable(self, path: Path, kind: str) -> bool:
        name = path.name
        if name.startswith("._"):
            self.skip(APPLEDOUBLE, str(path))
        elif name.startswith("."):
            self.skip(HIDDEN, str(path))
        elif path.suffix.lower() not in AUDIO_SUFFIXES:
            self.skip(NOT_AUDIO, str(path))
        elif kind != "file":
            self.skip(NOT_REGULAR, str(path))
        else:
            return True
        return False

    def manifest(self, root: Path, layout: str, labels: list[str] | None = None, *,
                 given_groups: bool = False) -> Manifest:
        """The manifest of the rows: repeated rows left out, one clip under two labels refused."""
        clips: list[Clip] = []
        first: dict[Path, tuple[Clip, str]] = {}
        for clip, where in self.rows:
            if clip.path not in first:
                first[clip.path] = (clip, where)
                clips.append(clip)
                continue
            other, other_where = first[clip.path]
            if other.label != clip.label:
                raise ManifestError(
                    f"{clip.path}: one clip under two labels, {shown_label(other.label)} ({other_where}) "
                    f"and {shown_label(clip.label)} ({where}); keep one")
            if given_groups and (other.group, other.fold) != (clip.group, clip.fold):
                raise ManifestError(
                    f"{clip.path}: listed twice with different split groups or folds ({other_where}: "
                    f"group {other.group!r}, fold {other.fold}; {where}: group {clip.group!r}, fold {clip.fold}); "
                    "one clip on both sides of a split would leak")
            self.skip(DUPLICATE, f"{where} repeats {other_where}")
        warnings = []
        if self.skipped:
            warnings.append(JobWarning("skipped-files", _skipped_text(self.skipped, f"{self.source}: left out ")
                                       + f"; e.g. {'; '.join(self.examples.values())}"))
        return Manifest(root, layout, clips, labels if labels is not None else sorted({c.label for c in clips}),
                        warnings=warnings, skipped=dict(self.skipped))

    def row_is_appledouble(self, path: Path, where: str) -> bool:
        if path.name.startswith("._"):
            self.skip(APPLEDOUBLE, f"{where}: {path.name}")
            return True
        return False


def _kind(entry: os.DirEntry) -> str:
    try:
        if entry.is_dir():
            return "dir"
        return "file" if stat.S_ISREG(entry.stat().st_mode) else "other"
    except OSError:  # a dangling link, a symlink loop, no permission
        return "other"


def _skipped_text(skipped: dict[str, int], prefix: str) -> str:
    if not skipped:
        return ""
    parts = [f"{n} {_REASON_TEXT[reason]}" for reason, n in sorted(skipped.items())]
    return f"{prefix}{sum(skipped.values())} file(s) or row(s): {', '.join(parts)}"


def _checked_label(label: str, where: str, what: str = "the label") -> str:
    problem = label_problem(label)
    if problem:
        raise ManifestError(f"{where}: {what} {shown_label(label)} {problem}")
    return label


def _class_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if not p.name.startswith(".") and p.is_dir())


def _read_esc50(root: Path) -> Manifest:
    meta = root / "meta" / "esc50.csv"
    rows = _read_csv_rows(meta, required=ESC50_COLUMNS)
    reading, targets = _Reading(meta), {}
    for line_no, row in rows:
        where = f"{meta}, line {line_no}"
        try:
            fold, target = int(row["fold"]), int(row["target"])
        except ValueError as exc:
            raise ManifestError(f"{where}: fold and target must be integers") from exc
        category = row["category"].strip()
        if not category:
            raise ManifestError(f"{where}: empty category for {row['filename']}")
        _checked_label(category, where)
        if targets.setdefault(target, category) != category:
            raise ManifestError(f"{where}: target {target} is both {targets[target]!r} and {category!r}")
        if reading.row_is_appledouble(root / "audio" / row["filename"], where):
            continue
        path = _existing(root / "audio" / row["filename"], meta, line_no)
        reading.add(Clip(path, category, group=row["src_file"].strip() or path.stem, fold=fold), where)
    return reading.manifest(root, "esc50", [targets[t] for t in sorted(targets)], given_groups=True)


def _read_emodb(root: Path) -> Manifest:
    wav_dir = root / "wav"
    if not wav_dir.is_dir():
        raise ManifestError(f"{root}: the EmoDB layout needs a wav/ folder")
    reading = _Reading(wav_dir)
    for path in sorted(wav_dir.iterdir()):
        if path.is_dir() or not reading.usable(path, "file" if path.is_file() else "other"):
            continue
        match = _EMODB_NAME.match(path.name)
        if not match:
            raise ManifestError(
                f"{path}: not an EmoDB name (speaker 2 digits, sentence code, emotion letter, version)"
            )
        speaker, _sentence, letter, _version = match.groups()
        if letter not in EMODB_EMOTIONS:
            raise ManifestError(
                f"{path}: unknown emotion letter {letter!r} (expected one of {''.join(EMODB_EMOTIONS)})"
            )
        reading.add(Clip(path.resolve(), EMODB_EMOTIONS[letter], group=speaker, speaker=speaker), str(path))
    return reading.manifest(root, "emodb")


def _read_folders(root: Path) -> Manifest:
    """A folder per class; clips in its subfolders too (the label is the top folder's name)."""
    reading = _Reading(root)
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") and path.is_dir():
            reading.skip(HIDDEN, f"{path}{os.sep}")
        elif path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES and not path.name.startswith("."):
            reading.skip(OUTSIDE, str(path))
    for folder in _class_folders(root):
        label = _checked_label(folder.name, str(folder), "the folder name, used as the label,")
        for path in reading.walk(folder):
            try:
                inside = path.relative_to(folder.resolve()).with_suffix("").as_posix()
            except ValueError:  # a link to a file elsewhere
                inside = path.stem
            reading.add(Clip(path, label, group=f"{label}/{inside}"), f"in {folder}")
    return reading.manifest(root, "folders")


def _read_csv(csv_path: Path) -> Manifest:
    rows = _read_csv_rows(csv_path, required=("path", "label"))
    base = csv_path.parent
    reading = _Reading(csv_path)
    for line_no, row in rows:
        where = f"{csv_path}, line {line_no}"
        label = (row.get("label") or "").strip()
        if not label:
            raise ManifestError(f"{where}: missing label for {row.get('path')!r}")
        _checked_label(label, where)
        if reading.row_is_appledouble(base / row["path"].strip(), where):
            continue
        path = _existing(base / row["path"].strip(), csv_path, line_no)
        fold_text = (row.get("fold") or "").strip()
        try:
            fold = int(fold_text) if fold_text else None
        except ValueError as exc:
            raise ManifestError(f"{where}: fold {fold_text!r} is not an integer") from exc
        speaker = (row.get("speaker") or "").strip() or None
        group = (row.get("group") or "").strip() or speaker or path.stem
        source, start_s, end_s = _span(row, where)
        reading.add(Clip(path, label, group=group, fold=fold, speaker=speaker, source=source, start_s=start_s,
                         end_s=end_s), where)
    return reading.manifest(csv_path, "csv", given_groups=True)


def _span(row: dict[str, str], where: str) -> tuple[str | None, float | None, float | None]:
    """``source,start_s,end_s`` (a data set cut from recordings): where the clip's audio came from."""
    source = (row.get("source") or "").strip() or None
    texts = [(row.get(name) or "").strip() for name in ("start_s", "end_s")]
    if source is None or not all(texts):
        return None, None, None
    try:
        start_s, end_s = (float(t) for t in texts)
    except ValueError as exc:
        raise ManifestError(f"{where}: start_s/end_s {texts[0]!r}, {texts[1]!r} are not numbers") from exc
    if not (0.0 <= start_s <= end_s):
        raise ManifestError(f"{where}: the span {start_s}..{end_s} s of {source} is not a span")
    return source, start_s, end_s


def _csv_declares_clips(folder: Path) -> bool:
    """One CSV in ``folder`` with path and label columns: it says what the clips are (an Earmark
    data set made from annotations keeps its clips in class-less folders beside it)."""
    csvs = sorted(folder.glob("*.csv"))
    if len(csvs) != 1:
        return False
    try:
        with open(csvs[0], newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return {"path", "label"} <= {h.strip() for h in header}


def _read_csv_rows(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    if not path.is_file():
        raise ManifestError(f"{path}: metadata file not found")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle, restval="")  # short rows: missing cells are empty
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise ManifestError(f"{path}: missing column(s) {', '.join(missing)}")
            # extra cells (key None) are dropped; line numbers count the header as line 1
            return [(reader.line_num, {k: v for k, v in row.items() if k is not None}) for row in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ManifestError(f"{path}: not a readable CSV file ({exc})") from exc


def _existing(path: Path, source: Path, line_no: int) -> Path:
    try:
        if path.is_file():
            return path.resolve()
    except (OSError, ValueError, RuntimeError) as exc:  # a name too long, a NUL byte, a symlink loop
        raise ManifestError(f"{source}, line {line_no}: unusable audio path {str(path)[:300]!r} ({exc})") from exc
    raise ManifestError(f"{source}, line {line_no}: audio file {str(path)[:300]} does not exist")
