"""A plain CSV of regions: ``file,start_s,end_s,low_hz,high_hz,label,note,source,state,confidence``.

Only ``start_s`` and ``end_s`` are required (``start``/``end``, ``begin``/``onset`` and
``offset``/``stop`` are read too); empty cells are "none". Earmark writes every column,
times as the shortest exact decimal, so a file reads back exactly.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from engine.annotations.formats.common import (
    InterchangeError,
    fmt_number,
    formula_safe,
    formula_unsafe,
    parse_number,
)
from engine.annotations.regions import PERSON, Region, RegionError
from engine.atomic import atomic_write_text

COLUMNS = ("file", "start_s", "end_s", "low_hz", "high_hz", "label", "note", "source", "state", "confidence")
ALIASES = {"start_s": ("start_s", "start", "begin", "onset", "begin_s", "onset_s"),
           "end_s": ("end_s", "end", "stop", "offset", "end_s", "offset_s"),
           "low_hz": ("low_hz", "low_freq", "min_freq"), "high_hz": ("high_hz", "high_freq", "max_freq"),
           "label": ("label", "annotation", "class")}


def read(path: Path) -> dict[str | None, list[Region]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle, restval="")
            names = {n.strip().lower(): n for n in reader.fieldnames or []}
            column = {key: next((names[a] for a in ALIASES.get(key, (key,)) if a in names), None) for key in COLUMNS}
            for needed in ("start_s", "end_s"):
                if column[needed] is None:
                    raise InterchangeError(f"{path}: missing column {needed} (found: {', '.join(names) or 'none'})")
            out: dict[str | None, list[Region]] = {}
            for row in reader:
                where = f"{path}, line {reader.line_num}"
                cell = {k: (row.get(c) or "").strip() if c else "" for k, c in column.items()}
                for key in ("file", "label", "note"):
                    cell[key] = formula_unsafe(cell[key])
                out.setdefault(cell["file"] or None, []).append(_region(cell, where))
            return out
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InterchangeError(f"{path}: not a readable CSV file ({exc})") from exc


def _region(cell: dict[str, str], where: str) -> Region:
    def number(key: str) -> float | None:
        return parse_number(cell[key], where, key) if cell[key] else None

    kwargs = {"low_hz": number("low_hz"), "high_hz": number("high_hz"), "note": cell["note"],
              "source": cell["source"] or PERSON, "confidence": number("confidence")}
    if cell["state"]:
        kwargs["state"] = cell["state"]
    try:
        return Region(number("start_s"), number("end_s"), cell["label"], **kwargs)
    except (RegionError, TypeError) as exc:
        raise InterchangeError(f"{where}: {exc}") from None


def write(path: Path, regions, **_: object) -> None:
    atomic_write_text(path, dumps(regions))


def dumps(regions) -> str:
    by_file = regions if isinstance(regions, dict) else {None: list(regions)}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for name, rs in by_file.items():
        for r in sorted(rs, key=lambda r: (r.start_s, r.end_s)):
            writer.writerow(row(name, r))
    return buffer.getvalue()


def row(name: str | None, r: Region) -> list[str]:
    return [formula_safe(name or ""), fmt_number(r.start_s), fmt_number(r.end_s), fmt_number(r.low_hz),
            fmt_number(r.high_hz), formula_safe(r.label), formula_safe(r.note), r.source, r.state,
            fmt_number(r.confidence)]
