"""The values of a region track: :class:`Region` (one labelled span) and :class:`RegionChange`
(one entry of a track's history), with their JSON forms and checks. Plain, immutable, Qt-free;
:mod:`engine.annotations.regions` holds the track that edits and saves them."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from typing import Any

from engine.errors import EarmarkError

PERSON = "person"
SUGGESTION = "suggestion"
SOURCES = (PERSON, SUGGESTION)
ACCEPTED, PENDING, REJECTED = "accepted", "pending", "rejected"
STATES = (ACCEPTED, PENDING, REJECTED)


class RegionError(EarmarkError):
    """A region or a region file is unusable (bad times, an unknown id, a malformed sidecar)."""


@dataclass(frozen=True, slots=True)
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
        """Times, label and id, plus every other field that differs from its default (a million
        imported regions make a sidecar of about 70 bytes a region)."""
        doc = {"start_s": self.start_s, "end_s": self.end_s, "label": self.label}
        for name, default in _OPTIONAL_DEFAULTS:
            value = getattr(self, name)
            if value != default:
                doc[name] = value
        doc["id"] = self.id
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Region:
        if not isinstance(doc, dict):
            raise RegionError(f"a region must be an object, got {type(doc).__name__}")
        return cls(**{k: v for k, v in doc.items() if k in _FIELD_NAMES})


_FIELD_NAMES = frozenset(f.name for f in fields(Region))
_OPTIONAL_DEFAULTS = tuple((f.name, f.default) for f in fields(Region)
                           if f.name not in ("start_s", "end_s", "label", "id"))


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
    if not isinstance(region.id, str) or not region.id or len(region.id) > 200:
        raise RegionError(f"a region's id must be a short text, got {region.id!r:.60}")
    if region.confidence is not None and not (isinstance(region.confidence, (int, float))
                                              and math.isfinite(region.confidence)):
        raise RegionError(f"a region's confidence must be a finite number, got {region.confidence!r:.60}")


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

    def json_chunks(self) -> Iterator[str]:
        """:meth:`to_json` as JSON text in pieces, made region by region (an import of a million
        regions never exists as a million dictionaries, nor as one string, at once)."""
        yield f'{{"action": {json.dumps(self.action)}, "before": ['
        for i, r in enumerate(self.before):
            yield (", " if i else "") + json.dumps(r.to_json(), allow_nan=False)
        yield '], "after": ['
        for i, r in enumerate(self.after):
            yield (", " if i else "") + json.dumps(r.to_json(), allow_nan=False)
        yield f'], "time": {json.dumps(self.time)}, "via": {json.dumps(self.via)}}}'

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RegionChange:
        action, before, after = doc["action"], doc.get("before", []), doc.get("after", [])
        if not isinstance(action, str) or not isinstance(before, list) or not isinstance(after, list):
            raise RegionError(f"malformed history entry {str(doc)[:80]!r}")
        return cls(action, tuple(Region.from_json(r) for r in before),
                   tuple(Region.from_json(r) for r in after), str(doc.get("time", "")), doc.get("via"))

    def inverse(self, via: str) -> RegionChange:
        return RegionChange(self.action, self.after, self.before, utc_now(), via)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def rebased(change: RegionChange, regions: Mapping[str, Region]) -> RegionChange:
    """``change`` made against the regions as they are now: an edit keeps others' edits
    of the fields it did not change; an edit or removal of a region gone meanwhile is dropped."""
    before_by_id = {r.id: r for r in change.before}
    after, before = [], []
    for new in change.after:
        old = before_by_id.get(new.id)
        now = regions.get(new.id)
        if old is None:
            after.append(new)
            if now is not None:
                before.append(now)
        elif now is not None:
            edited = {f.name: getattr(new, f.name) for f in fields(Region)
                      if getattr(new, f.name) != getattr(old, f.name)}
            after.append(replace(now, **edited))
            before.append(now)
    after_ids = {r.id for r in change.after}
    before += [regions[r.id] for r in change.before if r.id not in after_ids and r.id in regions]
    if tuple(before) == change.before and tuple(after) == change.after:
        return change
    return RegionChange(change.action, tuple(before), tuple(after), change.time, change.via)
