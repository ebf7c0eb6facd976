"""Audited label edits: relabels and flags kept beside a data set, never inside it.

A :class:`LabelEdits` is a plain, Qt-free model object. Every change (relabel, flag,
unflag, undo, redo) is written *at once* and atomically to ``<data root>/earmark-labels.json``
(for the CSV layout, the CSV's folder), together with a history of every change: clip key
(path relative to the data root), action, old, new, time (ISO 8601, UTC) and ``via``
(``"undo"``/``"redo"`` when the change came from one). The audio files and the original
metadata are never touched; :func:`engine.manifest.read_manifest` applies the edits when it
reads the data set.

Views subscribe with :meth:`LabelEdits.subscribe` and receive each :class:`Change`.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.atomic import atomic_write_json, atomic_write_text
from engine.errors import ManifestError, SaveError

if TYPE_CHECKING:  # pragma: no cover
    from engine.manifest import Clip, Manifest

EDITS_FILENAME = "earmark-labels.json"
FORMAT_NAME = "earmark-label-edits"
FORMAT_VERSION = 1
DOUBTFUL = "doubtful"
REVIEWED = "reviewed"
ACTIONS = ("relabel", "flag", "unflag")
_INVERSE = {"relabel": "relabel", "flag": "unflag", "unflag": "flag"}


@dataclass(frozen=True)
class Change:
    """One entry of the history. For ``flag``/``unflag`` the flag name is in ``new``/``old``."""

    clip: str
    action: str
    old: str | None
    new: str | None
    time: str
    via: str | None = None  # None for a direct edit, "undo" or "redo"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def inverse(self, via: str) -> Change:
        return Change(self.clip, _INVERSE[self.action], self.new, self.old, utc_now(), via)


@dataclass
class ClipEdit:
    """The current edit state of one clip."""

    original_label: str | None = None
    label: str | None = None  # None: the original label stands
    flags: list[str] = field(default_factory=list)  # flags added here
    removed_flags: list[str] = field(default_factory=list)  # flags of the data set switched off

    def is_empty(self) -> bool:
        return self.label is None and not self.flags and not self.removed_flags


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def data_folder(root: str | os.PathLike) -> Path:
    """The folder clip keys are relative to: ``root`` itself, or a CSV file's folder."""
    root = Path(root)
    return (root.parent if root.is_file() else root).resolve()


def edits_path(root: str | os.PathLike) -> Path:
    return data_folder(root) / EDITS_FILENAME


def clip_key(path: str | os.PathLike, data_root: str | os.PathLike) -> str:
    """A clip's key: its path relative to the data root (POSIX), or absolute when outside it."""
    path = Path(path).resolve()
    try:
        return path.relative_to(data_folder(data_root)).as_posix()
    except ValueError:
        return path.as_posix()


def load_edits(root: str | os.PathLike) -> LabelEdits | None:
    """The edits saved beside the data set at ``root``, or None when there are none."""
    path = edits_path(root)
    if not path.exists():
        return None
    return LabelEdits.open(root)


class LabelEdits:
    """Relabels and flags of one data set, with undo/redo, saved atomically after every change."""

    def __init__(self, root: str | os.PathLike, *, base: dict[str, tuple[str, tuple[str, ...]]] | None = None):
        self.root = data_folder(root)
        self.path = self.root / EDITS_FILENAME
        self._base = dict(base or {})  # key -> (original label, original flags)
        self._clips: dict[str, ClipEdit] = {}
        self._history: list[Change] = []
        self._undo: list[Change] = []
        self._redo: list[Change] = []
        self._listeners: list[Callable[[Change], None]] = []

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def open(cls, root: str | os.PathLike, base_clips: Iterable[Clip] | None = None) -> LabelEdits:
        """Load the saved edits of ``root`` (if any). ``base_clips``: the clips as the data set has them."""
        edits = cls(root)
        if base_clips is not None:
            edits._base = {clip_key(c.path, edits.root): (c.label, tuple(c.flags)) for c in base_clips}
        if edits.path.exists():
            edits._load()
        return edits

    @classmethod
    def for_manifest(cls, manifest: Manifest) -> LabelEdits:
        """Edits for a manifest read with ``use_edits=False`` (the original labels)."""
        return cls.open(manifest.data_root, manifest.clips)

    def _load(self) -> None:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ManifestError(
                f"{self.path}: cannot read the label edits ({exc}); move the file away to start afresh"
            ) from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
            raise ManifestError(f"{self.path}: not an Earmark label-edits file (format is not {FORMAT_NAME!r})")
        if doc.get("version") != FORMAT_VERSION:
            raise ManifestError(f"{self.path}: label-edits version {doc.get('version')!r} is not supported")
        try:
            self._clips = {key: _clip_edit(value) for key, value in doc["clips"].items()}
            self._history = [Change(**entry) for entry in doc["history"]]
        except (KeyError, TypeError, AttributeError) as exc:
            raise ManifestError(f"{self.path}: malformed label edits ({exc})") from exc

    # ---- listening ----------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``callback(change)`` after every saved change; returns an unsubscribe function."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    # ---- queries ------------------------------------------------------------------------------
    @property
    def history(self) -> list[Change]:
        return list(self._history)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def key(self, path: str | os.PathLike) -> str:
        return clip_key(path, self.root)

    def label_of(self, key: str) -> str | None:
        edit = self._clips.get(key)
        if edit is not None and edit.label is not None:
            return edit.label
        if key in self._base:
            return self._base[key][0]
        return edit.original_label if edit else None

    def flags_of(self, key: str) -> tuple[str, ...]:
        base = self._base.get(key, (None, ()))[1]
        edit = self._clips.get(key)
        if edit is None:
            return tuple(base)
        kept = [f for f in base if f not in edit.removed_flags]
        return tuple(kept + [f for f in edit.flags if f not in kept])

    def edited_keys(self) -> list[str]:
        return sorted(self._clips)

    def apply(self, clips: Iterable[Clip]) -> list[Clip]:
        """The clips with the edits applied (new labels; flags in ``Clip.flags``)."""
        out = []
        for clip in clips:
            edit = self._clips.get(self.key(clip.path))
            if edit is None:
                out.append(clip)
                continue
            flags = [f for f in clip.flags if f not in edit.removed_flags]
            flags += [f for f in edit.flags if f not in flags]
            out.append(replace(clip, label=edit.label or clip.label, flags=tuple(flags)))
        return out

    # ---- changes ------------------------------------------------------------------------------
    def relabel(self, key: str, new_label: str) -> Change | None:
        new_label = (new_label or "").strip()
        if not new_label:
            raise ValueError(f"{key}: a label cannot be empty")
        old = self.label_of(key)
        if old == new_label:
            return None
        return self._do(Change(key, "relabel", old, new_label, utc_now()))

    def flag(self, key: str, flag: str = DOUBTFUL) -> Change | None:
        if flag in self.flags_of(key):
            return None
        return self._do(Change(key, "flag", None, flag, utc_now()))

    def unflag(self, key: str, flag: str = DOUBTFUL) -> Change | None:
        if flag not in self.flags_of(key):
            return None
        return self._do(Change(key, "unflag", flag, None, utc_now()))

    def toggle_flag(self, key: str, flag: str = DOUBTFUL) -> Change | None:
        return self.unflag(key, flag) if flag in self.flags_of(key) else self.flag(key, flag)

    def mark_reviewed(self, key: str, reviewed: bool = True) -> Change | None:
        return self.flag(key, REVIEWED) if reviewed else self.unflag(key, REVIEWED)

    def undo(self) -> Change | None:
        if not self._undo:
            return None
        change = self._undo[-1].inverse("undo")
        self._commit(change)
        self._redo.append(self._undo.pop())
        self._notify(change)
        return change

    def redo(self) -> Change | None:
        if not self._redo:
            return None
        original = self._redo[-1]
        change = replace(original, time=utc_now(), via="redo")
        self._commit(change)
        self._undo.append(self._redo.pop())
        self._notify(change)
        return change

    def _do(self, change: Change) -> Change:
        self._commit(change)
        self._undo.append(change)
        self._redo.clear()
        self._notify(change)
        return change

    def _commit(self, change: Change) -> None:
        """Apply ``change``, append it to the history and save; on a failed save, roll back."""
        before = self._clips.get(change.clip)
        snapshot = None if before is None else ClipEdit(
            before.original_label, before.label, list(before.flags), list(before.removed_flags)
        )
        self._apply_change(change)
        self._history.append(change)
        try:
            self.save()
        except SaveError:
            self._history.pop()
            if snapshot is None:
                self._clips.pop(change.clip, None)
            else:
                self._clips[change.clip] = snapshot
            raise

    def _apply_change(self, change: Change) -> None:
        edit = self._clips.setdefault(change.clip, ClipEdit())
        base_label, base_flags = self._base.get(change.clip, (None, ()))
        if edit.original_label is None:
            edit.original_label = base_label if base_label is not None else (
                change.old if change.action == "relabel" else None
            )
        if change.action == "relabel":
            edit.label = None if change.new == edit.original_label else change.new
        elif change.action == "flag":
            if change.new in edit.removed_flags:
                edit.removed_flags.remove(change.new)
            if change.new not in base_flags and change.new not in edit.flags:
                edit.flags.append(change.new)
        elif change.action == "unflag":
            if change.old in edit.flags:
                edit.flags.remove(change.old)
            if change.old in base_flags and change.old not in edit.removed_flags:
                edit.removed_flags.append(change.old)
        if edit.is_empty():
            self._clips.pop(change.clip)

    def _notify(self, change: Change) -> None:
        for callback in list(self._listeners):
            callback(change)

    # ---- saving -------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "note": "Label edits made in Earmark; the audio and the original metadata are unchanged.",
            "updated_utc": self._history[-1].time if self._history else utc_now(),
            "clips": {key: asdict(self._clips[key]) for key in sorted(self._clips)},
            "history": [c.to_json() for c in self._history],
        }

    def save(self) -> None:
        atomic_write_json(self.path, self.to_json())


def _clip_edit(value: dict[str, Any]) -> ClipEdit:
    return ClipEdit(
        original_label=value.get("original_label"),
        label=value.get("label"),
        flags=list(value.get("flags", [])),
        removed_flags=list(value.get("removed_flags", [])),
    )


def export_csv(manifest: Manifest, path: str | os.PathLike) -> Path:
    """Write ``path,label,group,fold`` for ``train --layout csv``; returns the path written.

    Paths are relative to the CSV's folder when the clip lies under it, else absolute.
    The ``fold`` column is written only when the data set has folds.
    """
    path = Path(path).resolve()
    folder = path.parent
    with_folds = any(c.fold is not None for c in manifest.clips)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "label", "group", "fold"] if with_folds else ["path", "label", "group"])
    for clip in manifest.clips:
        clip_path = Path(clip.path).resolve()
        try:
            shown = clip_path.relative_to(folder).as_posix()
        except ValueError:
            shown = clip_path.as_posix()
        row = [shown, clip.label, clip.group]
        if with_folds:
            row.append("" if clip.fold is None else str(clip.fold))
        writer.writerow(row)
    atomic_write_text(path, buffer.getvalue())
    return path
