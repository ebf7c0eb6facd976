"""Regions of a recording: time spans with an optional frequency band, a label and a note.

A :class:`RegionTrack` is a plain, Qt-free model object for one audio file. Regions come
from a person (``source="person"``) or from a model (``source="suggestion"``); a
suggestion is ``pending`` until a person accepts (possibly relabelling) or rejects it.
Suggestions never overwrite what a person made or accepted: :meth:`RegionTrack.suggest`
replaces only the pending suggestions and drops new ones that overlap an accepted region.

Every change (add, update, remove, accept, reject, suggest, undo, redo) is written *at once*
and atomically (:mod:`engine.atomic`) to the sidecar ``<audio name>.earmark-regions.json``
next to the audio, together with a history of every change (action, region id, the
region before and after, time, and ``via`` for undo/redo). The audio file is never
opened for writing. Views subscribe with :meth:`RegionTrack.subscribe` and receive each
:class:`RegionChange`.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from engine.atomic import atomic_write_json
from engine.errors import EarmarkError
from engine.events import Emitter
from engine.undo import UndoStack

SIDECAR_SUFFIX = ".earmark-regions.json"
FORMAT_NAME = "earmark-regions"
FORMAT_VERSION = 1
PERSON = "person"
SUGGESTION = "suggestion"
SOURCES = (PERSON, SUGGESTION)
ACCEPTED, PENDING, REJECTED = "accepted", "pending", "rejected"
STATES = (ACCEPTED, PENDING, REJECTED)


class RegionError(EarmarkError):
    """A region or a region file is unusable (bad times, an unknown id, a malformed sidecar)."""


@dataclass(frozen=True)
class Region:
    """One labelled span. Times in seconds from the start of the file; band in Hz or None."""

    start_s: float
    end_s: float
    label: str = ""
    low_hz: float | None = None
    high_hz: float | None = None
    note: str = ""
    source: str = PERSON
    state: str = ACCEPTED
    confidence: float | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def __post_init__(self) -> None:
        check_region(self)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def has_band(self) -> bool:
        return self.low_hz is not None and self.high_hz is not None

    def overlaps(self, other: Region) -> bool:
        return self.start_s < other.end_s and other.start_s < self.end_s

    @property
    def place(self) -> tuple:
        """Where and what it is (times, band, label): two regions with one place are duplicates."""
        return (self.start_s, self.end_s, self.low_hz, self.high_hz, self.label)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Region:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in names})


def check_region(region: Region) -> None:
    start, end = region.start_s, region.end_s
    if not (isinstance(start, (int, float)) and isinstance(end, (int, float))):
        raise RegionError(f"region times must be numbers, got {start!r} and {end!r}")
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end < start:
        raise RegionError(f"a region must have 0 <= start <= end, got {start} .. {end} s")
    if (region.low_hz is None) != (region.high_hz is None):
        raise RegionError(f"a frequency band needs both edges, got {region.low_hz} .. {region.high_hz} Hz")
    if region.has_band and not (0 <= region.low_hz <= region.high_hz):
        raise RegionError(f"a frequency band must have 0 <= low <= high, got {region.low_hz} .. {region.high_hz} Hz")
    if region.source not in SOURCES:
        raise RegionError(f"unknown region source {region.source!r}; valid: {', '.join(SOURCES)}")
    if region.state not in STATES:
        raise RegionError(f"unknown region state {region.state!r}; valid: {', '.join(STATES)}")
    if not isinstance(region.label, str) or not isinstance(region.note, str):
        raise RegionError("a region's label and note must be text")


@dataclass(frozen=True)
class RegionChange:
    """One entry of the history: the regions before and after (None: absent)."""

    action: str
    before: tuple[Region, ...]
    after: tuple[Region, ...]
    time: str
    via: str | None = None  # None for a direct edit, "undo" or "redo"

    def describe(self) -> str:
        """For a person: ``label "call" (4.000–6.000 s)``, ``import of 98 regions``."""
        regions = (self.before or self.after) if self.via == "undo" else (self.after or self.before)  # the edit's own
        if len(regions) != 1:
            return f"{self.action} of {len(regions)} regions"
        r = regions[0]
        return f"{self.action} of {r.label or 'an unlabelled region'!r} ({r.start_s:.3f}–{r.end_s:.3f} s)"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "before": [r.to_json() for r in self.before],
                "after": [r.to_json() for r in self.after], "time": self.time, "via": self.via}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RegionChange:
        return cls(doc["action"], tuple(Region.from_json(r) for r in doc.get("before", [])),
                   tuple(Region.from_json(r) for r in doc.get("after", [])), doc.get("time", ""), doc.get("via"))

    def inverse(self, via: str) -> RegionChange:
        return RegionChange(self.action, self.after, self.before, utc_now(), via)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sidecar_path(audio_path: str | os.PathLike) -> Path:
    audio_path = Path(audio_path)
    return audio_path.with_name(audio_path.name + SIDECAR_SUFFIX)


class RegionTrack:
    """The regions of one recording, saved to its sidecar after every change."""

    def __init__(self, audio_path: str | os.PathLike, *, autosave: bool = True) -> None:
        self.audio_path = Path(audio_path)
        self.path = sidecar_path(self.audio_path)
        self.autosave = autosave
        self._regions: dict[str, Region] = {}
        self.history: list[RegionChange] = []
        self._history: UndoStack[RegionChange] = UndoStack()
        self._events = Emitter(("changed",))

    # -- reading ---------------------------------------------------------------------------
    @classmethod
    def open(cls, audio_path: str | os.PathLike, *, autosave: bool = True) -> RegionTrack:
        """The track of ``audio_path``: its sidecar when there is one, else empty."""
        track = cls(audio_path, autosave=autosave)
        if track.path.exists():
            track._load()
        return track

    def _load(self) -> None:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            if doc.get("format") != FORMAT_NAME:
                raise RegionError(f"{self.path}: not an Earmark region file (format {doc.get('format')!r})")
            if int(doc.get("version", 0)) > FORMAT_VERSION:
                raise RegionError(f"{self.path}: written by a newer Earmark (version {doc.get('version')})")
            regions = [Region.from_json(r) for r in doc.get("regions", [])]
            self.history = [RegionChange.from_json(c) for c in doc.get("history", [])]
        except RegionError as exc:
            if str(exc).startswith(str(self.path)):
                raise
            raise RegionError(f"{self.path}: {exc}") from None
        except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise RegionError(f"{self.path}: unreadable region file ({exc})") from exc
        self._regions = {r.id: r for r in regions}

    # -- queries ---------------------------------------------------------------------------
    @property
    def regions(self) -> list[Region]:
        """All regions, rejected suggestions included, in time order."""
        return sorted(self._regions.values(), key=lambda r: (r.start_s, r.end_s, r.id))

    def accepted(self) -> list[Region]:
        """What a person stands behind: their own regions and the suggestions they accepted."""
        return [r for r in self.regions if r.state == ACCEPTED]

    def suggestions(self, state: str | None = None) -> list[Region]:
        return [r for r in self.regions if r.source == SUGGESTION and (state is None or r.state == state)]

    def get(self, region_id: str) -> Region:
        try:
            return self._regions[region_id]
        except KeyError:
            raise RegionError(f"{self.path}: no region with id {region_id!r}") from None

    def at(self, time_s: float) -> list[Region]:
        return [r for r in self.regions if r.start_s <= time_s <= r.end_s]

    @property
    def can_undo(self) -> bool:
        return self._history.can_undo

    @property
    def can_redo(self) -> bool:
        return self._history.can_redo

    # -- edits -----------------------------------------------------------------------------
    def add(self, start_s: float, end_s: float, label: str = "", **kw: Any) -> Region:
        """A person's new region (``start_s`` and ``end_s`` in either order)."""
        start_s, end_s = sorted((float(start_s), float(end_s)))
        region = Region(start_s, end_s, label, **kw)
        if region.id in self._regions:
            raise RegionError(f"{self.path}: a region with id {region.id!r} exists already")
        self._apply(RegionChange("add", (), (region,), utc_now()))
        return region

    def update(self, region_id: str, **changes: Any) -> Region:
        """Change fields of a region (label, note, start_s, end_s, low_hz, high_hz, state)."""
        old = self.get(region_id)
        if "id" in changes:
            raise RegionError("a region's id cannot change")
        new = replace(old, **changes)
        if new.start_s > new.end_s:
            new = replace(new, start_s=new.end_s, end_s=new.start_s)
        if new == old:
            return old
        action = "label" if set(changes) <= {"label"} else "update"
        self._apply(RegionChange(action, (old,), (new,), utc_now()))
        return new

    def move(self, region_id: str, delta_s: float) -> Region:
        old = self.get(region_id)
        delta_s = max(float(delta_s), -old.start_s)
        return self.update(region_id, start_s=old.start_s + delta_s, end_s=old.end_s + delta_s)

    def remove(self, region_id: str) -> None:
        self._apply(RegionChange("remove", (self.get(region_id),), (), utc_now()))

    def accept(self, region_id: str, label: str | None = None) -> Region:
        """Accept a suggestion (optionally relabelled): it now counts as the person's."""
        old = self.get(region_id)
        new = replace(old, state=ACCEPTED, label=old.label if label is None else label)
        twin = next((r for r in self.accepted() if r.id != old.id and r.label == new.label and r.overlaps(new)), None)
        if twin is not None:  # already marked with that label: one region over both, not two on top
            merged = replace(twin, start_s=min(twin.start_s, new.start_s), end_s=max(twin.end_s, new.end_s))
            self._apply(RegionChange("accept", (old, twin), (merged,), utc_now()))
            return merged
        self._apply(RegionChange("accept", (old,), (new,), utc_now()))
        return new

    def accept_all(self, min_confidence: float | None = None) -> list[Region]:
        """Accept every pending suggestion (with at least ``min_confidence``) as one undoable change."""
        chosen = tuple(r for r in self.suggestions(PENDING)
                       if min_confidence is None or r.confidence is None or r.confidence >= min_confidence)
        after = tuple(replace(r, state=ACCEPTED) for r in chosen)
        if chosen:
            self._apply(RegionChange("accept", chosen, after, utc_now()))
        return list(after)

    def reject(self, region_id: str) -> Region:
        old = self.get(region_id)
        new = replace(old, state=REJECTED)
        self._apply(RegionChange("reject", (old,), (new,), utc_now()))
        return new

    def suggest(self, suggestions: Iterable[Region]) -> list[Region]:
        """Replace the pending suggestions with ``suggestions`` (one undoable change).

        Accepted and rejected regions stay as they are; a new suggestion that overlaps an
        accepted region with the same label, or a rejected one at the same span, is dropped.
        Returns the suggestions that were added.
        """
        kept = [r for r in self._regions.values() if not (r.source == SUGGESTION and r.state == PENDING)]
        added = []
        for s in suggestions:
            s = replace(s, source=SUGGESTION, state=PENDING)
            if any(k.state == ACCEPTED and k.overlaps(s) and k.label == s.label for k in kept):
                continue
            if any(k.state == REJECTED and k.overlaps(s) and k.label == s.label for k in kept):
                continue
            added.append(s)
        before = tuple(r for r in self._regions.values() if r.source == SUGGESTION and r.state == PENDING)
        if before or added:
            self._apply(RegionChange("suggest", before, tuple(added), utc_now()))
        return added

    def replace_all(self, regions: Iterable[Region], action: str = "import") -> None:
        """Add ``regions`` (an import) as one undoable change, keeping what is there."""
        new = tuple(regions)
        if new:
            self._apply(RegionChange(action, (), new, utc_now()))

    def import_regions(self, regions: Iterable[Region], action: str = "import") -> tuple[list[Region], int]:
        """Add ``regions`` as one undoable change, skipping any that duplicate a region already
        here (same times, band and label) or an earlier one of ``regions``: importing a file twice
        changes nothing. Returns what was added and how many were skipped."""
        seen = {r.place for r in self._regions.values() if r.state != REJECTED}
        added, skipped = [], 0
        for region in regions:
            if region.place in seen:
                skipped += 1
                continue
            seen.add(region.place)
            added.append(region)
        self.replace_all(added, action)
        return added, skipped

    def undo(self) -> bool:
        return self._history.undo(self._apply_backwards) is not None

    def redo(self) -> bool:
        return self._history.redo(self._apply_again) is not None

    def subscribe(self, listener: Callable[[RegionChange], None]) -> Callable[[], None]:
        return self._events.subscribe("changed", listener)

    # -- internals -------------------------------------------------------------------------
    def _apply_backwards(self, change: RegionChange) -> RegionChange:
        self._apply(change.inverse("undo"), record_undo=False)
        return change

    def _apply_again(self, change: RegionChange) -> RegionChange:
        self._apply(RegionChange(change.action, change.before, change.after, utc_now(), "redo"), record_undo=False)
        return change

    def _apply(self, change: RegionChange, *, record_undo: bool = True) -> None:
        previous = dict(self._regions)
        for region in change.before:
            self._regions.pop(region.id, None)
        for region in change.after:
            self._regions[region.id] = region
        self.history.append(change)
        try:
            if self.autosave:
                self.save()
        except BaseException:
            self._regions = previous
            self.history.pop()
            raise
        if record_undo:
            self._history.record(change)
        self._events.emit("changed", change)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "audio": self.audio_path.name,
            "regions": [r.to_json() for r in self.regions],
            "history": [c.to_json() for c in self.history],
        }

    def save(self) -> None:
        """Write the sidecar atomically (the old file or the new one survives any crash)."""
        atomic_write_json(self.path, self.to_json())
