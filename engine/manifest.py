"""Data set manifests: ESC-50, EmoDB, folder-per-class and CSV layouts become one list of clips.

Every layout yields :class:`Clip` rows with a split ``group`` so that splits can be
grouped (ESC-50: ``src_file``; EmoDB: speaker; CSV: its group column; else the file stem).
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.errors import ManifestError

LAYOUTS = ("esc50", "emodb", "folders", "csv")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
EMODB_EMOTIONS = {
    "W": "anger", "L": "boredom", "E": "disgust", "A": "fear",
    "F": "happiness", "T": "sadness", "N": "neutral",
}
ESC50_COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")
_EMODB_NAME = re.compile(r"^(\d\d)([a-z]\d\d)([A-Z])([a-z])", re.ASCII)


@dataclass(frozen=True)
class Clip:
    path: Path
    label: str
    group: str
    fold: int | None = None
    speaker: str | None = None
    flags: tuple[str, ...] = ()


@dataclass
class Manifest:
    root: Path
    layout: str
    clips: list[Clip]
    labels: list[str]
    notes: list[str] = field(default_factory=list)

    def class_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.labels, 0)
        for clip in self.clips:
            counts[clip.label] = counts.get(clip.label, 0) + 1
        return counts

    def label_index(self, label: str) -> int:
        return self.labels.index(label)

    def with_clips(self, clips: list[Clip]) -> Manifest:
        return replace(self, clips=list(clips))

    @property
    def data_root(self) -> Path:
        """The folder that clip paths are relative to (the CSV's folder for the CSV layout)."""
        return self.root.parent if self.root.is_file() else self.root


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
    if any(p.is_dir() and _audio_files(p) for p in root.iterdir()):
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
        raise ManifestError(f"{root}: the data set holds no clips")
    if use_edits:
        manifest = _apply_edits(manifest)
    return manifest


def _apply_edits(manifest: Manifest) -> Manifest:
    try:
        from engine.edits import load_edits
    except ImportError:
        return manifest
    edits = load_edits(manifest.data_root)
    if edits is None:
        return manifest
    clips = edits.apply(manifest.clips)
    labels = sorted(set(manifest.labels) | {c.label for c in clips}, key=_label_order(manifest.labels))
    return replace(manifest, clips=clips, labels=labels, notes=[*manifest.notes, "audited labels applied"])


def _label_order(labels: list[str]):
    order = {label: i for i, label in enumerate(labels)}
    return lambda label: (order.get(label, len(order)), label)


def _read_esc50(root: Path) -> Manifest:
    meta = root / "meta" / "esc50.csv"
    rows = _read_csv_rows(meta, required=ESC50_COLUMNS)
    clips, targets = [], {}
    for line_no, row in rows:
        try:
            fold, target = int(row["fold"]), int(row["target"])
        except ValueError as exc:
            raise ManifestError(f"{meta}, line {line_no}: fold and target must be integers") from exc
        category = row["category"].strip()
        if not category:
            raise ManifestError(f"{meta}, line {line_no}: empty category for {row['filename']}")
        if targets.setdefault(target, category) != category:
            raise ManifestError(
                f"{meta}, line {line_no}: target {target} is both {targets[target]!r} and {category!r}"
            )
        path = _existing(root / "audio" / row["filename"], meta, line_no)
        clips.append(Clip(path, category, group=row["src_file"].strip() or path.stem, fold=fold))
    labels = [targets[t] for t in sorted(targets)]
    return Manifest(root, "esc50", clips, labels)


def _read_emodb(root: Path) -> Manifest:
    wav_dir = root / "wav"
    if not wav_dir.is_dir():
        raise ManifestError(f"{root}: the EmoDB layout needs a wav/ folder")
    clips = []
    for path in _audio_files(wav_dir):
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
        clips.append(Clip(path, EMODB_EMOTIONS[letter], group=speaker, speaker=speaker))
    labels = sorted({c.label for c in clips})
    return Manifest(root, "emodb", clips, labels)


def _read_folders(root: Path) -> Manifest:
    clips = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in _audio_files(folder):
            clips.append(Clip(path, folder.name, group=f"{folder.name}/{path.stem}"))
    labels = sorted({c.label for c in clips})
    return Manifest(root, "folders", clips, labels)


def _read_csv(csv_path: Path) -> Manifest:
    rows = _read_csv_rows(csv_path, required=("path", "label"))
    base = csv_path.parent
    clips = []
    for line_no, row in rows:
        label = (row.get("label") or "").strip()
        if not label:
            raise ManifestError(f"{csv_path}, line {line_no}: missing label for {row.get('path')!r}")
        path = _existing(base / row["path"].strip(), csv_path, line_no)
        fold_text = (row.get("fold") or "").strip()
        try:
            fold = int(fold_text) if fold_text else None
        except ValueError as exc:
            raise ManifestError(f"{csv_path}, line {line_no}: fold {fold_text!r} is not an integer") from exc
        group = (row.get("group") or "").strip() or path.stem
        clips.append(Clip(path, label, group=group, fold=fold))
    labels = sorted({c.label for c in clips})
    return Manifest(csv_path, "csv", clips, labels)


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


def _audio_files(folder: Path) -> list[Path]:
    return sorted(
        p.resolve() for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()
    )
