"""Praat TextGrids (``.TextGrid``): long and short text files, read and written with ``praatio``.

A TextGrid holds tiers over one time range (``xmin``..``xmax``, seconds): *interval tiers*,
whose intervals tile the range (the unlabelled ones have empty text), and *point tiers*
(``TextTier``) of labelled instants. Every labelled interval of every interval tier becomes a
region, every point a zero-length one; empty intervals are the gaps between labels, not
regions. Praat's own files name the tiers (speakers, words, events); a tier name other than
Earmark's own goes into the region's note, so it is kept on a round trip through Earmark.

Intervals of one tier cannot overlap, Earmark's regions can: Earmark writes its regions to
interval tiers ``labels``, ``labels 2``, … (each region on the first tier where it fits), over
``0``..the recording's length (``duration_s``, else the last region's end), in Praat's long
text format, or the short one (``short=True``). Times are written as the shortest decimal
that reads back exactly, so a file Earmark wrote reads back exactly and rewrites byte for
byte. Bands and confidences have no place in a TextGrid and are not written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from engine.annotations.formats.common import InterchangeError, clean_text
from engine.annotations.regions import Region, RegionError
from engine.atomic import atomic_write_text

TIER = "labels"
SUFFIX = ".TextGrid"


def looks_like_textgrid(head: str) -> bool:
    return ("ooTextFile" in head and "TextGrid" in head) or head.lstrip().startswith('"TextGrid"')


def _own_tier(name: str) -> bool:
    rest = name[len(TIER) + 1:] if name.startswith(TIER + " ") else None
    return name == TIER or rest is not None and (rest.isdigit() or rest == "points")


def read(path: Path) -> dict[str | None, list[Region]]:
    from praatio import textgrid
    from praatio.utilities import errors

    try:
        grid = textgrid.openTextgrid(os.fspath(path), includeEmptyIntervals=False, duplicateNamesMode="rename")
    except (OSError, UnicodeError, ValueError, IndexError, KeyError, errors.PraatioException) as exc:
        raise InterchangeError(f"{path}: not a readable Praat TextGrid ({exc})") from exc
    regions = []
    for name in grid.tierNames:
        tier = grid.getTier(name)
        note = "" if _own_tier(name) else f"tier: {name}"
        for n, entry in enumerate(tier.entries, start=1):
            label = clean_text(entry.label)
            if not label:
                continue
            start, end = (entry.start, entry.end) if hasattr(entry, "end") else (entry.time, entry.time)
            try:
                regions.append(Region(float(start), float(end), label, note=note))
            except RegionError as exc:
                raise InterchangeError(f"{path}, tier {name!r}, entry {n}: {exc}") from None
    regions.sort(key=lambda r: (r.start_s, r.end_s))
    return {None: regions}


def _tiers(regions: list[Region]) -> list[list[Region]]:
    """Regions on as few tiers as keep each tier free of overlaps (first fit, in time order)."""
    tiers: list[list[Region]] = []
    for region in sorted(regions, key=lambda r: (r.start_s, r.end_s)):
        for tier in tiers:
            if tier[-1].end_s <= region.start_s:
                tier.append(region)
                break
        else:
            tiers.append([region])
    return tiers


def dumps(regions, *, duration_s: float | None = None, short: bool = False) -> str:
    """The TextGrid text of ``regions`` (see the module)."""
    from praatio import textgrid
    from praatio.utilities.constants import Interval

    regions = [r for r in regions if r.duration_s > 0 or r.label]
    end_s = max([duration_s or 0.0] + [r.end_s for r in regions]) or 1.0
    grid = textgrid.Textgrid()
    for k, tier in enumerate(_tiers(regions) or [[]], start=1):
        intervals = [Interval(r.start_s, r.end_s, clean_text(r.label)) for r in tier if r.end_s > r.start_s]
        grid.addTier(textgrid.IntervalTier(TIER if k == 1 else f"{TIER} {k}", intervals, 0.0, end_s))
    points = [r for r in regions if r.end_s == r.start_s]
    if points:
        from praatio.utilities.constants import Point

        grid.addTier(textgrid.PointTier(f"{TIER} points", [Point(r.start_s, clean_text(r.label)) for r in points],
                                        0.0, end_s))
    with tempfile.TemporaryDirectory(prefix="earmark-textgrid-") as folder:
        scratch = Path(folder) / ("grid" + SUFFIX)
        grid.save(os.fspath(scratch), format="short_textgrid" if short else "long_textgrid",
                  includeBlankSpaces=True, minimumIntervalLength=None, reportingMode="silence")
        return scratch.read_text(encoding="utf-8")


def write(path: Path, regions, *, duration_s: float | None = None, short: bool = False, **_: object) -> None:
    if isinstance(regions, dict):
        if len(regions) > 1:
            raise InterchangeError(f"{path}: a TextGrid holds one recording's regions")
        regions = next(iter(regions.values()), [])
    atomic_write_text(path, dumps(regions, duration_s=duration_s, short=short))
