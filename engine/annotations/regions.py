"""Regions of a recording: time spans with an optional frequency band, a label and a note.

A :class:`RegionTrack` is a plain, Qt-free model object for one audio file. Regions come
from a person (``source="person"``) or from a model (``source="suggestion"``); a
suggestion is ``pending`` until a person accepts (possibly relabelling) or rejects it.
Suggestions never overwrite what a person made or accepted: :meth:`RegionTrack.suggest`
replaces only the pending suggestions and drops new ones that overlap an accepted region.

Every change (add, update, remove, accept, reject, suggest, undo, redo) is saved *at once*
beside the audio (:mod:`engine.annotations.sidecar`: the snapshot ``<audio name>.earmark-regions.json``
and a journal of the changes since), together with a history of every change (action, the
regions before and after, time, and ``via`` for undo/redo). Each change is made against the
files as they are at that moment, under a lock: what other editors of the recording saved
in the meantime is read first (and announced), and a change to a region touches only the
fields it changed, so two windows on one recording lose nothing. The audio file is never
opened for writing. Views subscribe with :meth:`RegionTrack.subscribe` and receive each
:class:`RegionChange`.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.annotations.index import RegionIndex
from engine.annotations.region import (  # noqa: F401  (re-exported: the names callers import from here)
    ACCEPTED,
    PENDING,
    PERSON,
    REJECTED,
    SOURCES,
    STATES,
    SUGGESTION,
    Region,
    RegionChange,
    RegionError,
    check_region,
    rebased,
    utc_now,
)
from engine.annotations.sidecar import FORMAT_NAME, FORMAT_VERSION, SidecarFileError, SidecarStore, dumps
from engine.errors import SaveError
from engine.events import Emitter
from engine.undo import UndoStack

log = logging.getLogger(__name__)
BIG_CHANGE = 10_000  # regions in one change (an import) above which it is saved as a new snapshot
SIDECAR_SUFFIX = ".earmark-regions.json"


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
        self._store = SidecarStore(self.path)
        self.warnings: list[str] = []  # what opening had to repair (duplicate ids), for the views
        self._index: RegionIndex | None = None  # see :attr:`index`

    # -- reading ---------------------------------------------------------------------------
    @classmethod
    def open(cls, audio_path: str | os.PathLike, *, autosave: bool = True) -> RegionTrack:
        """The track of ``audio_path``: its sidecar when there is one, else empty."""
        track = cls(audio_path, autosave=autosave)
        if track._store.exists():
            with track._store.locked(reading=True):
                track._load()
        return track

    def _load(self) -> None:
        try:
            loaded = self._store.load()
            regions = [Region.from_json(r) for r in loaded.regions]
            history = [RegionChange.from_json(c) for c in loaded.history]
            journal = [RegionChange.from_json(c) for c in loaded.journal]
        except (RegionError, SidecarFileError) as exc:
            raise RegionError(f"{self.path}: {exc}") from None
        except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            raise RegionError(f"{self.path}: unreadable region file ({type(exc).__name__}: {exc})") from None
        self._regions = {}
        self._index = None
        for region in regions:
            if region.id in self._regions:  # two regions under one id: keep both, the later under a new id
                region = replace(region, id=uuid.uuid4().hex[:12])
                self.warnings.append(f"{self.path}: two regions had the id {region.id!r}; "
                                     f"the one at {region.start_s:g} s was given a new id")
            self._regions[region.id] = region
        self.history = history
        for change in journal:
            self._merge(change)
            self.history.append(change)

    # -- queries ---------------------------------------------------------------------------
    @property
    def regions(self) -> list[Region]:
        """All regions, rejected suggestions included, in time order."""
        index, regions = self.index, self._regions  # (a big change swaps both in from its worker thread)
        return [r for r in map(regions.get, (k[2] for k in index.keys)) if r is not None]

    @property
    def index(self) -> RegionIndex:
        """The time index (built once, then kept up to date edit by edit)."""
        index = self._index
        if index is None:
            index = self._index = RegionIndex(self._regions.values())
        return index

    def between(self, start_s: float, end_s: float, *, most: int | None = None) -> list[Region]:
        """The regions that overlap ``start_s..end_s``, in time order (a bisect, not a walk); with
        ``most``, an even sample of at most about that many (for drawing a million regions)."""
        index, regions = self.index, self._regions
        lo, hi = index.span(start_s, end_s)
        step = max(1, (hi - lo) // most) if most else 1
        return [r for r in map(regions.get, index.ids_between(start_s, end_s, step=step)) if r is not None]

    def count_between(self, start_s: float, end_s: float) -> int:
        """About how many regions overlap ``start_s..end_s`` (never fewer), without listing them."""
        lo, hi = self.index.span(start_s, end_s)
        return hi - lo

    def count(self, source: str | None = None, state: str | None = None) -> int:
        return sum(n for (src, st), n in self.index.states.items()
                   if (source is None or src == source) and (state is None or st == state))

    def labels(self) -> list[str]:
        """Every label in use, in first-seen order."""
        return [label for label in self.index.labels if label]

    def has(self, region_id: str) -> bool:
        return region_id in self._regions

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
        return self.between(time_s, time_s)

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

    def replace_all(self, regions: Iterable[Region], action: str = "import") -> list[Region]:
        """Add ``regions`` (an import) as one undoable change, keeping what is there.

        An imported region never replaces one of the track's: one equal to a region here is
        left out (already there), one whose id is taken (by a region here, edited since the
        file was written, or by another region of the file) is added under a new id. So
        re-importing a file never reverts a later edit, and undoing the import removes only
        what it added. Returns the regions added."""
        change = self.import_regions(regions, action)
        if change is None:
            return []
        self.announce(change)
        return list(change.after)

    def import_regions(self, regions: Iterable[Region], action: str = "import", *, cancel=None,
                       on_progress: Callable[[int, int], None] = lambda _done, _total: None) -> RegionChange | None:
        """:meth:`replace_all`'s work without telling anyone: saved, but neither announced to the
        subscribers nor undoable until :meth:`announce` (so a worker thread may run it while the
        views wait). ``cancel`` (an :class:`engine.jobs.CancelToken`) is checked every 10,000
        regions until the save starts; a cancelled import changes nothing."""
        regions = list(regions)
        added: dict[str, Region] = {}
        # importing labels into a recording that has them (an Audacity file carries no ids) adds
        # nothing: a region with the place (times, band, label) of one here is already here
        places = {r.place for r in self._regions.values() if r.state != REJECTED}
        for i, region in enumerate(regions):
            if i % 10_000 == 0:
                if cancel is not None:
                    cancel.raise_if_cancelled("importing regions")
                on_progress(i, len(regions))
            if self._regions.get(region.id) == region or region.place in places:
                continue
            places.add(region.place)
            if region.id in self._regions or region.id in added:
                region = replace(region, id=uuid.uuid4().hex[:12])
            added[region.id] = region
        _free_gradually(places)
        if not added:
            return None
        return self._apply(RegionChange(action, (), tuple(added.values()), utc_now()), record_undo=False, emit=False)

    def announce(self, change: RegionChange) -> None:
        """Make a change from :meth:`import_regions` undoable and tell the subscribers."""
        self._history.record(change)
        self._events.emit("changed", change)

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

    def _apply(self, change: RegionChange, *, record_undo: bool = True, emit: bool = True) -> RegionChange:
        if not self.autosave:
            self._merge(change)
            self.history.append(change)
        else:
            with self._store.locked():
                self._catch_up()
                change = rebased(change, self._regions)
                big = len(change.before) + len(change.after) > BIG_CHANGE
                if not big:  # one journal line; a big change goes straight into a new snapshot
                    self._store.append(change.to_json())
                self._merge(change)
                self.history.append(change)
                if big:
                    self._compact_or_undo(change)
                elif self._store.should_compact() or not self.path.exists():
                    try:
                        self._compact()
                    except SaveError as exc:  # the change is saved in the journal; fold it in later
                        log.warning("%s", exc)
        if record_undo:
            self._history.record(change)
        if emit:
            self._events.emit("changed", change)
        return change

    def _compact_or_undo(self, change: RegionChange) -> None:
        try:
            self._compact()
        except BaseException:
            self.history.pop()
            self._merge(change.inverse("undo"))
            raise

    def _catch_up(self) -> None:
        """Take in what other editors saved since this track last looked, and announce it."""
        try:
            changes, reload = self._store.changed_since()
            foreign = [RegionChange.from_json(c) for c in changes]
        except (SidecarFileError, OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise RegionError(f"{self.path}: unreadable region file ({exc})") from None
        if reload:
            before = dict(self._regions)
            self._load()
            if before != self._regions:
                gone = tuple(r for k, r in before.items() if self._regions.get(k) != r)
                came = tuple(r for k, r in self._regions.items() if before.get(k) != r)
                self._events.emit("changed", RegionChange("reload", gone, came, utc_now()))
            return
        for change in foreign:
            self._merge(change)
            self.history.append(change)
            self._events.emit("changed", change)

    def _merge(self, change: RegionChange) -> None:
        # a big change is made on a copy and swapped in, so a reader on another thread never
        # iterates a dictionary that is changing under it
        big = len(change.before) + len(change.after) > BIG_CHANGE
        regions = dict(self._regions) if big else self._regions
        index = None if big else self._index
        for region in change.before:
            gone = regions.pop(region.id, None)
            if gone is not None and index is not None:
                index.remove(gone)
        for region in change.after:
            old = regions.get(region.id)
            if index is not None:
                if old is not None:
                    index.remove(old)
                index.add(region)
            regions[region.id] = region
        if big:  # indexed on the thread that made the change, before anyone sees it
            index = RegionIndex(regions.values())
        self._index = index
        self._regions = regions

    def _compact(self) -> None:
        self._store.compact({"audio": self.audio_path.name}, (dumps(r.to_json()) for r in self.regions),
                            (c.json_chunks() for c in self.history))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "audio": self.audio_path.name,
            "regions": [r.to_json() for r in self.regions],
            "history": [c.to_json() for c in self.history],
        }

    def refresh(self) -> None:
        """Take in (and announce) what other editors saved since this track last looked — the Label
        window labelling this recording, a script — without changing anything."""
        if self.autosave and self._store.exists():
            with self._store.locked(reading=True):
                self._catch_up()

    def save(self) -> None:
        """Fold everything into a fresh snapshot (atomic: the old files or the new ones survive any crash)."""
        with self._store.locked():
            self._catch_up()
            self._compact()


def _free_gradually(items: set) -> None:
    """Empty a big set one item at a time. Freeing a million tuples at once is one C call that
    holds the interpreter (0.3-0.45 s measured at the end of a 1e6-row import: a frozen window);
    popped one by one, other threads run in between."""
    while items:
        items.pop()
