"""Audited label edits: relabels and flags kept beside a data set, never inside it.

A :class:`LabelEdits` is a plain, Qt-free model object. Every change (relabel, flag,
unflag, undo, redo) is written *at once* and atomically to ``<data root>/earmark-labels.json``
(for the CSV layout, the CSV's folder), together with a history of every change: clip key
(path relative to the data root), action, old, new, time (ISO 8601, UTC) and ``via``
(``"undo"``/``"redo"`` when the change came from one). The audio files and the original
metadata are never touched; :func:`engine.datasets.manifest.read_manifest` applies the edits when it
reads the data set.

Several processes may edit one data set at once (two windows, the app and a script): each
change is made under an exclusive lock against the file *as it is on disk then* (re-read,
so another process's edits are kept and its history extended, never rewritten), and the
in-memory state becomes that merged state. A damaged file is set aside under a new name
(:mod:`engine.datasets.edits_file`) and the data set opens with its original labels; the reason is
in :attr:`LabelEdits.warnings`.

Views subscribe with :meth:`LabelEdits.subscribe` and receive each :class:`Change`, their
own and, when a save or :meth:`LabelEdits.refresh` finds them, other processes'.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.atomic import atomic_write_json, file_lock
from engine.datasets.clips import Clip, Manifest, label_problem, shown_label
from engine.datasets.edits_file import (
    ACTIONS,
    EDITS_FILENAME,
    FORMAT_NAME,
    FORMAT_VERSION,
    Change,
    ClipEdit,
    DamagedEdits,
    EditsState,
    read_state,
    set_aside,
    to_json,
    utc_now,
)
from engine.errors import ManifestError, SaveError
from engine.events import Emitter
from engine.jobs import JobWarning
from engine.undo import UndoStack

__all__ = ["ACTIONS", "DOUBTFUL", "EDITS_FILENAME", "FORMAT_NAME", "FORMAT_VERSION", "REVIEWED", "Change",
           "ClipEdit", "LabelEdits", "clip_key", "data_folder", "edits_path", "load_edits",
           "utc_now"]

log = logging.getLogger(__name__)
DOUBTFUL = "doubtful"
REVIEWED = "reviewed"
DAMAGED_WARNING = "edits-damaged"


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
    if not edits_path(root).exists():
        return None
    return LabelEdits.open(root)


class LabelEdits:
    """Relabels and flags of one data set, with undo/redo, saved atomically after every change."""

    def __init__(self, root: str | os.PathLike, *, base: dict[str, tuple[str, tuple[str, ...]]] | None = None):
        self.root = data_folder(root)
        self.path = self.root / EDITS_FILENAME
        self._base = dict(base or {})  # key -> (original label, original flags)
        self._state = EditsState()
        self._history: UndoStack[Change] = UndoStack()
        self._events = Emitter(("changed",))
        self.warnings: list[JobWarning] = []  # e.g. a damaged file set aside; for the caller to show

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def open(cls, root: str | os.PathLike, base_clips: Iterable[Clip] | None = None) -> LabelEdits:
        """Load the saved edits of ``root`` (if any). ``base_clips``: the clips as the data set has them.

        A damaged file is set aside and reported in :attr:`warnings`; a file written by a newer
        Earmark raises :class:`ManifestError`.
        """
        edits = cls(root)
        if base_clips is not None:
            edits._base = {clip_key(c.path, edits.root): (c.label, tuple(c.flags)) for c in base_clips}
        edits._state = edits._read(locked=False) or EditsState()
        return edits

    @classmethod
    def for_manifest(cls, manifest: Manifest) -> LabelEdits:
        """Edits for a manifest read with ``use_edits=False`` (the original labels)."""
        return cls.open(manifest.data_root, manifest.clips)

    def _read(self, *, locked: bool) -> EditsState | None:
        """The file's state (None: no file, or a damaged one now set aside)."""
        try:
            return read_state(self.path)
        except DamagedEdits as exc:
            if locked:
                return self._set_aside(exc)
            damage = exc
        try:  # confirm under the lock: another process may have replaced the file meanwhile
            with file_lock(self.path):
                return self._read(locked=True)
        except SaveError as exc:  # a read-only folder: leave the file, use the original labels
            self._warn(f"{damage}. Opened with the original labels; the file was left as it is ({exc})")
            return None

    def _set_aside(self, damage: DamagedEdits) -> None:
        try:
            aside = set_aside(self.path)
        except OSError as exc:
            raise SaveError(f"{damage}; it could not be set aside ({exc.strerror or exc}), "
                            "so nothing was written over it") from exc
        self._warn(f"{damage}. Opened with the original labels; the damaged file was kept as {aside.name}")
        return None

    def _warn(self, message: str) -> None:
        log.warning("%s", message)
        self.warnings.append(JobWarning(DAMAGED_WARNING, message))

    # ---- listening ----------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``callback(change)`` after every saved change; returns an unsubscribe function."""
        return self._events.subscribe("changed", callback)

    # ---- queries ------------------------------------------------------------------------------
    @property
    def history(self) -> list[Change]:
        return list(self._state.history)

    @property
    def can_undo(self) -> bool:
        return self._history.can_undo

    @property
    def can_redo(self) -> bool:
        return self._history.can_redo

    def key(self, path: str | os.PathLike) -> str:
        return clip_key(path, self.root)

    def label_of(self, key: str) -> str | None:
        return self._label_in(self._state, key)

    def flags_of(self, key: str) -> tuple[str, ...]:
        return self._flags_in(self._state, key)

    def _label_in(self, state: EditsState, key: str) -> str | None:
        edit = state.clips.get(key)
        if edit is not None and edit.label is not None:
            return edit.label
        if key in self._base:
            return self._base[key][0]
        return edit.original_label if edit else None

    def _flags_in(self, state: EditsState, key: str) -> tuple[str, ...]:
        base = self._base.get(key, (None, ()))[1]
        edit = state.clips.get(key)
        if edit is None:
            return tuple(base)
        kept = [f for f in base if f not in edit.removed_flags]
        return tuple(kept + [f for f in edit.flags if f not in kept])

    def edited_keys(self) -> list[str]:
        return sorted(self._state.clips)

    def apply(self, clips: Iterable[Clip]) -> list[Clip]:
        """The clips with the edits applied (new labels; flags in ``Clip.flags``)."""
        out = []
        for clip in clips:
            edit = self._state.clips.get(self.key(clip.path))
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
        problem = label_problem(new_label)
        if problem:
            raise ValueError(f"{key}: the label {shown_label(new_label)} {problem}")
        return self._do(Change(key, "relabel", None, new_label, ""))

    def flag(self, key: str, flag: str = DOUBTFUL) -> Change | None:
        return self._do(Change(key, "flag", None, _checked_flag(key, flag), ""))

    def unflag(self, key: str, flag: str = DOUBTFUL) -> Change | None:
        return self._do(Change(key, "unflag", _checked_flag(key, flag), None, ""))

    def toggle_flag(self, key: str, flag: str = DOUBTFUL) -> Change | None:
        flag = _checked_flag(key, flag)

        def plan(state: EditsState) -> Change | None:
            action = "unflag" if flag in self._flags_in(state, key) else "flag"
            template = Change(key, action, flag if action == "unflag" else None, flag if action == "flag" else None, "")
            return self._replayed(state, template, None)

        return self._done(self._save(plan))

    def mark_reviewed(self, key: str, reviewed: bool = True) -> Change | None:
        return self.flag(key, REVIEWED) if reviewed else self.unflag(key, REVIEWED)

    def undo(self) -> Change | None:
        """Undo this object's latest change (against the file as it is now); None when there is none."""
        change = self._history.undo(
            lambda latest: self._save(lambda state: self._replayed(state, latest.inverse("undo"), "undo")))
        if change is not None:
            self._notify(change)
        return change

    def redo(self) -> Change | None:
        change = self._history.redo(
            lambda original: self._save(lambda state: self._replayed(state, original, "redo")))
        if change is not None:
            self._notify(change)
        return change

    def refresh(self) -> list[Change]:
        """Pick up changes other processes saved; returns (and announces) them."""
        fresh = self._read(locked=False)
        return self._adopt(fresh) if fresh is not None else []

    def _do(self, template: Change) -> Change | None:
        return self._done(self._save(lambda state: self._replayed(state, template, None)))

    def _done(self, change: Change | None) -> Change | None:
        if change is not None:
            self._history.record(change)
            self._notify(change)
        return change

    def _replayed(self, state: EditsState, template: Change, via: str | None) -> Change | None:
        """``template`` made against ``state``: its ``old`` as it is there; None when it changes nothing."""
        if template.action == "relabel":
            current = self._label_in(state, template.clip)
            if current == template.new:
                return None
            return Change(template.clip, "relabel", current, template.new, utc_now(), via)
        flag = template.new if template.action == "flag" else template.old
        if (flag in self._flags_in(state, template.clip)) == (template.action == "flag"):
            return None
        return replace(template, time=utc_now(), via=via)

    def _save(self, plan: Callable[[EditsState], Change | None]) -> Change | None:
        """Under the lock: re-read the file, make ``plan``'s change against it, save, adopt the result.

        On a failed save (:class:`SaveError`) the file and the history keep what they had.
        """
        with file_lock(self.path):
            fresh = self._fresh_state()
            change = plan(fresh)
            if change is not None:
                merged = fresh.copy()
                self._apply_change(merged, change)
                merged.history.append(change)
                try:
                    atomic_write_json(self.path, to_json(merged))
                except SaveError:
                    self._adopt(fresh)
                    raise
                fresh = merged
            self._adopt(fresh, own=change)
        return change

    def _fresh_state(self) -> EditsState:
        """The state on disk (the lock held); ours when the file is gone or was damaged and set aside."""
        try:
            state = self._read(locked=True)
        except ManifestError as exc:  # unreadable, or written by a newer Earmark: never overwritten
            raise SaveError(f"{exc}; the change was not saved") from exc
        return state if state is not None else self._state.copy()

    def _adopt(self, state: EditsState, own: Change | None = None) -> list[Change]:
        """Make ``state`` ours; announce the changes in it that other processes made since we looked."""
        known = self._state.history
        foreign: list[Change] = []
        if state.history[: len(known)] == known:
            foreign = state.history[len(known):]
            if own is not None and foreign and foreign[-1] is own:
                foreign = foreign[:-1]
        self._state = state
        for change in foreign:
            self._notify(change)
        return foreign

    def _apply_change(self, state: EditsState, change: Change) -> None:
        edit = state.clips.setdefault(change.clip, ClipEdit())
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
            state.clips.pop(change.clip)

    def _notify(self, change: Change) -> None:
        self._events.emit("changed", change)

    # ---- saving -------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return to_json(self._state)

    def save(self) -> None:
        """Make sure the file holds this object's edits (rewrites it only when it is missing)."""
        with file_lock(self.path):
            state = self._read(locked=True)
            if state is not None:
                self._adopt(state)
            elif self._state.history:
                atomic_write_json(self.path, to_json(self._state))


def _checked_flag(key: str, flag: str) -> str:
    problem = label_problem(flag)
    if problem:
        raise ValueError(f"{key}: the flag {shown_label(flag)} {problem}")
    return flag
