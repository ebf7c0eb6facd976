"""The label-edits file beside a data set: its records, its strict reader, and what to do when it is damaged.

``<data root>/earmark-labels.json`` holds the current edit of every edited clip and the
history of every change. :func:`read_state` validates all of it (types, actions, labels)
and raises :class:`DamagedEdits` naming the file and the first problem; deep nesting,
truncation, foreign JSON and bytes that are not UTF-8 are all "damaged".
:func:`set_aside` renames a damaged file to ``earmark-labels.damaged-<UTC time>.json`` so
the person keeps it and the data set opens with its original labels.
Saves are :func:`engine.atomic.atomic_write_json` under :func:`engine.atomic.file_lock`
(see :mod:`engine.datasets.edits`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from engine.datasets.clips import label_problem, shown_label
from engine.errors import ManifestError

EDITS_FILENAME = "earmark-labels.json"
FORMAT_NAME = "earmark-label-edits"
FORMAT_VERSION = 1
MAX_EDITS_BYTES = 256 * 2**20  # far beyond any audit (a million changes); larger is not an edits file
ACTIONS = ("relabel", "flag", "unflag")
VIAS = (None, "undo", "redo")
_INVERSE = {"relabel": "relabel", "flag": "unflag", "unflag": "flag"}
_CHANGE_FIELDS = ("clip", "action", "old", "new", "time", "via")
_CLIP_FIELDS = ("original_label", "label", "flags", "removed_flags")


class DamagedEdits(ManifestError):
    """The edits file exists but cannot be used as it is (the message names it and the problem)."""


class NewerEdits(ManifestError):
    """The edits file was written by a newer Earmark: it is refused, never moved or overwritten."""


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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

    def copy(self) -> ClipEdit:
        return ClipEdit(self.original_label, self.label, list(self.flags), list(self.removed_flags))


@dataclass
class EditsState:
    """What the file holds: the edit of each clip, and the history that led there."""

    clips: dict[str, ClipEdit] = field(default_factory=dict)
    history: list[Change] = field(default_factory=list)

    def copy(self) -> EditsState:
        return EditsState({k: v.copy() for k, v in self.clips.items()}, list(self.history))


def to_json(state: EditsState) -> dict[str, Any]:
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "note": "Label edits made in Earmark; the audio and the original metadata are unchanged.",
        "updated_utc": state.history[-1].time if state.history else utc_now(),
        "clips": {key: asdict(state.clips[key]) for key in sorted(state.clips)},
        "history": [c.to_json() for c in state.history],
    }


def read_state(path: Path) -> EditsState | None:
    """The state saved at ``path`` (None when there is no file); :class:`DamagedEdits` when unusable."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_EDITS_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read the label edits ({exc.strerror or exc})") from exc
    return parse_state(data, path)


def parse_state(data: bytes, path: Path) -> EditsState:
    if len(data) > MAX_EDITS_BYTES:
        raise DamagedEdits(f"{path}: over {MAX_EDITS_BYTES >> 20} MiB, too large for label edits")
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DamagedEdits(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise DamagedEdits(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc
    except RecursionError as exc:
        raise DamagedEdits(f"{path}: nested too deeply to be label edits") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise DamagedEdits(f"{path}: not an Earmark label-edits file (format is not {FORMAT_NAME!r})")
    version = doc.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise NewerEdits(f"{path}: label edits of version {version}, written by a newer Earmark; "
                         f"this one reads version {FORMAT_VERSION}")
    if version != FORMAT_VERSION:
        raise DamagedEdits(f"{path}: label-edits version {version!r} is not supported")
    clips, history = doc.get("clips"), doc.get("history")
    if not isinstance(clips, dict) or not isinstance(history, list):
        raise DamagedEdits(f"{path}: 'clips' must be an object and 'history' a list")
    return EditsState({key: _clip_edit(key, value, path) for key, value in clips.items()},
                      [_change(i, entry, path) for i, entry in enumerate(history)])


def _clip_edit(key: str, value: Any, path: Path) -> ClipEdit:
    where = f"{path}: clip {shown_label(key)}"
    if not key or not isinstance(value, dict) or set(value) - set(_CLIP_FIELDS):
        raise DamagedEdits(f"{where}: malformed entry (expected the fields {', '.join(_CLIP_FIELDS)})")
    for name in ("original_label", "label"):
        _check_label(value.get(name), f"{where}: {name.replace('_', ' ')}", optional=True)
    lists = []
    for name in ("flags", "removed_flags"):
        flags = value.get(name, [])
        if not isinstance(flags, list):
            raise DamagedEdits(f"{where}: {name} must be a list, not {shown_label(flags)}")
        for flag in flags:
            _check_label(flag, f"{where}: flag")
        lists.append(list(flags))
    return ClipEdit(value.get("original_label"), value.get("label"), *lists)


def _change(index: int, entry: Any, path: Path) -> Change:
    where = f"{path}: history entry {index + 1}"
    if not isinstance(entry, dict) or set(entry) - set(_CHANGE_FIELDS) or not {"clip", "action", "time"} <= set(entry):
        raise DamagedEdits(f"{where}: malformed (expected the fields {', '.join(_CHANGE_FIELDS)})")
    if not isinstance(entry["clip"], str) or not entry["clip"] or not isinstance(entry["time"], str):
        raise DamagedEdits(f"{where}: 'clip' and 'time' must be text")
    if entry["action"] not in ACTIONS or entry.get("via") not in VIAS:
        raise DamagedEdits(f"{where}: unknown action {shown_label(entry['action'])} "
                           f"or via {shown_label(entry.get('via'))}")
    for name in ("old", "new"):
        _check_label(entry.get(name), f"{where} ({entry['clip']}): {name} value", optional=True)
    return Change(entry["clip"], entry["action"], entry.get("old"), entry.get("new"), entry["time"], entry.get("via"))


def _check_label(label: Any, where: str, *, optional: bool = False) -> None:
    if label is None and optional:
        return
    problem = label_problem(label)
    if problem:
        raise DamagedEdits(f"{where} {shown_label(label)} {problem}")


def set_aside(path: Path) -> Path:
    """Rename the damaged ``path`` to a free ``earmark-labels.damaged-<time>.json`` beside it."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    stem, suffix = os.path.splitext(path.name)
    for n in range(1, 1000):
        aside = path.with_name(f"{stem}.damaged-{stamp}{'' if n == 1 else f'-{n}'}{suffix}")
        try:
            os.link(path, aside)  # atomic, and never replaces an earlier damaged copy
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links (FAT, exFAT, some network shares)
            if aside.exists():
                continue
            os.rename(path, aside)
            return aside
        os.unlink(path)
        return aside
    raise FileExistsError(f"{path}: no free name to set it aside")
