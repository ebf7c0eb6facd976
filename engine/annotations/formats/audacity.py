"""Audacity label tracks (``.txt``), per the Audacity manual, "Importing and Exporting Labels".

One label a line: ``start<TAB>end<TAB>label`` in seconds (``start == end`` for a point
label). The extended form adds, after a label's line, ``\\<TAB>low_hz<TAB>high_hz`` for
its frequency band; Audacity writes ``-1`` for an undefined edge. Older files may carry a
single time (a point label) before the label.
"""

from __future__ import annotations

from pathlib import Path

from engine.annotations.formats.common import InterchangeError, clean_text, fmt_number, parse_number
from engine.annotations.regions import Region, RegionError
from engine.atomic import atomic_write_text


def read(path: Path) -> dict[str | None, list[Region]]:
    regions: list[Region] = []
    try:
        # line by line, not read_text().split(): on a million-row file those two calls hold the
        # interpreter for about 0.1 s, a frozen window while a worker imports it. newline="\n":
        # only LF (or CRLF) ends a line; U+2028, U+0085 and lone CRs may be inside a label.
        with open(path, encoding="utf-8-sig", newline="\n") as lines:
            for line_no, line in enumerate(lines, start=1):
                _read_line(line.removesuffix("\n").removesuffix("\r"), f"{path}, line {line_no}", regions)
    except (OSError, UnicodeDecodeError) as exc:
        raise InterchangeError(f"{path}: cannot read the Audacity label file ({exc})") from exc
    return {None: regions}


def _read_line(line: str, where: str, regions: list[Region]) -> None:
    if not line.strip():
        return
    cells = line.split("\t")
    if cells[0].strip() == "\\":
        if not regions:
            raise InterchangeError(f"{where}: a frequency line before any label")
        regions[-1] = _with_band(regions[-1], cells[1:], where)
        return
    regions.append(_region(cells, where))


def _region(cells: list[str], where: str) -> Region:
    start = parse_number(cells[0], where, "start time")
    if len(cells) >= 2:
        try:
            end = parse_number(cells[1], where, "end time")
            label = "\t".join(cells[2:])
        except InterchangeError:
            if len(cells) > 2:
                raise
            end, label = start, cells[1]  # "time<TAB>label": a point label
    else:
        end, label = start, ""
    try:
        return Region(start, end, label.strip())
    except RegionError as exc:
        raise InterchangeError(f"{where}: {exc}") from None


def _with_band(region: Region, cells: list[str], where: str) -> Region:
    if len(cells) < 2:
        raise InterchangeError(f"{where}: a frequency line needs low and high frequencies")
    low = parse_number(cells[0], where, "low frequency")
    high = parse_number(cells[1], where, "high frequency")
    if high < 0:
        return region
    try:
        return Region(region.start_s, region.end_s, region.label, low_hz=max(low, 0.0), high_hz=high, id=region.id)
    except RegionError as exc:
        raise InterchangeError(f"{where}: {exc}") from None


def write(path: Path, regions, **_: object) -> None:
    if isinstance(regions, dict):
        if len(regions) > 1:
            raise InterchangeError(f"{path}: an Audacity label track holds one recording's labels")
        regions = next(iter(regions.values()), [])
    atomic_write_text(path, dumps(regions))


def region_text(r: Region) -> str:
    """One region's line, and its frequency line when it has a band."""
    text = f"{fmt_number(r.start_s)}\t{fmt_number(r.end_s)}\t{clean_text(r.label)}\n"
    if r.has_band:
        text += f"\\\t{fmt_number(r.low_hz)}\t{fmt_number(r.high_hz)}\n"
    return text


def dumps(regions) -> str:
    return "".join(region_text(r) for r in sorted(regions, key=lambda r: (r.start_s, r.end_s)))
