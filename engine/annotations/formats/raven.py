"""Raven selection tables (``.txt``, tab-separated, one header row), per the Raven Pro manual.

Columns ``Selection, View, Channel, Begin Time (s), End Time (s), Low Freq (Hz),
High Freq (Hz)`` then annotation columns (``Annotation`` here; BirdNET-Analyzer writes
``Common Name``, ``Species Code`` and ``Confidence``). Raven lists a selection once per
view (``Waveform 1``, ``Spectrogram 1``): rows are deduplicated on (file, selection).
Multi-file tables add ``Begin File`` (Raven Pro) or ``Begin Path`` (BirdNET-Analyzer)
and, where times run on across files, ``File Offset (s)``: the begin time within the file.
Earmark writes one row per selection, view ``Spectrogram 1``.
"""

from __future__ import annotations

from pathlib import Path

from engine.annotations.formats.common import (
    InterchangeError,
    clean_text,
    fmt_number,
    formula_safe,
    formula_unsafe,
    parse_number,
)
from engine.annotations.regions import Region, RegionError
from engine.atomic import atomic_write_text

BEGIN, END, LOW, HIGH = "Begin Time (s)", "End Time (s)", "Low Freq (Hz)", "High Freq (Hz)"
FILE, OFFSET = "Begin File", "File Offset (s)"
FILE_COLUMNS = (FILE, "Begin Path")  # Raven Pro; BirdNET-Analyzer's combined table
LABEL_COLUMNS = ("Annotation", "Label", "Common Name", "Species", "Class", "Call Type", "Species Code")
NOTE_COLUMNS = ("Note", "Notes", "Comment", "Comments")
CONFIDENCE = "Confidence"
NO_BAND = "Earmark No Band"  # "1" where the Low/High Freq cells are the whole band only for Raven's display
VIEW = "Spectrogram 1"


def looks_like_raven(first_line: str) -> bool:
    cells = {c.strip().lower() for c in first_line.rstrip("\r\n").split("\t")}
    return BEGIN.lower() in cells and END.lower() in cells


def read(path: Path) -> dict[str | None, list[Region]]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InterchangeError(f"{path}: cannot read the Raven selection table ({exc})") from exc
    if not lines or not looks_like_raven(lines[0]):
        raise InterchangeError(f"{path}: not a Raven selection table (no '{BEGIN}' and '{END}' columns)")
    header = [c.strip() for c in lines[0].split("\t")]
    index = {name.lower(): i for i, name in enumerate(header)}
    out: dict[str | None, list[Region]] = {}
    seen: set[tuple[str | None, str, str, str]] = set()
    for line_no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        row = {name: (cells[i].strip() if i < len(cells) else "") for name, i in index.items()}
        where = f"{path}, line {line_no}"
        file = _file_name(formula_unsafe(next((row[c.lower()] for c in FILE_COLUMNS if row.get(c.lower())), "")))
        # the same selection in another view repeats its number and times; a number repeated with
        # other times (two tables pasted together) is another selection
        key = (file, row.get("selection", "") or str(line_no), row.get(BEGIN.lower(), ""), row.get(END.lower(), ""))
        if key in seen:  # the same selection in another view
            continue
        seen.add(key)
        out.setdefault(file, []).append(_region(row, where))
    return out


def _file_name(cell: str) -> str | None:
    cell = cell.strip()
    return Path(cell.replace("\\", "/")).name if cell else None


def _optional(row: dict[str, str], name: str, where: str) -> float | None:
    cell = row.get(name.lower(), "")
    return parse_number(cell, where, name) if cell else None


def _region(row: dict[str, str], where: str) -> Region:
    start = parse_number(row[BEGIN.lower()], where, BEGIN)
    end = parse_number(row[END.lower()], where, END)
    offset = _optional(row, OFFSET, where)
    if offset is not None:
        start, end = offset, offset + (end - start)
    low, high = _optional(row, LOW, where), _optional(row, HIGH, where)
    if low is None or high is None or row.get(NO_BAND.lower()) == "1":
        low = high = None
    label = formula_unsafe(next((row[c.lower()] for c in LABEL_COLUMNS if row.get(c.lower())), ""))
    note = formula_unsafe(next((row[c.lower()] for c in NOTE_COLUMNS if row.get(c.lower())), ""))
    try:
        return Region(start, end, label, low_hz=low, high_hz=high, note=note,
                      confidence=_optional(row, CONFIDENCE, where))
    except RegionError as exc:
        raise InterchangeError(f"{where}: {exc}") from None


def write(path: Path, regions, *, max_freq_hz: float | None = None, **_: object) -> None:
    """One table; ``regions`` a list, or ``{file name: list}`` for a multi-file table."""
    atomic_write_text(path, dumps(regions, max_freq_hz=max_freq_hz))


def header(*, multi: bool, with_conf: bool, with_note: bool, with_no_band: bool = False) -> list[str]:
    names = ["Selection", "View", "Channel", BEGIN, END, LOW, HIGH] + ([FILE] if multi else []) + ["Annotation"]
    return (names + ([CONFIDENCE] if with_conf else []) + (["Note"] if with_note else [])
            + ([NO_BAND] if with_no_band else []))


def row(number: int, r: Region, *, file: str | None = None, multi: bool = False, with_conf: bool = False,
        with_note: bool = False, max_freq_hz: float | None = None, with_no_band: bool = False) -> list[str]:
    low, high = (r.low_hz, r.high_hz) if r.has_band else (
        (0.0, max_freq_hz) if max_freq_hz is not None else (None, None))
    cells = [str(number), VIEW, "1", fmt_number(r.start_s), fmt_number(r.end_s), fmt_number(low), fmt_number(high)]
    cells += [formula_safe(clean_text(file or ""))] if multi else []
    cells += [formula_safe(clean_text(r.label))]
    cells += [fmt_number(r.confidence)] if with_conf else []
    cells += [formula_safe(clean_text(r.note))] if with_note else []
    return cells + (["0" if r.has_band else "1"] if with_no_band else [])


def dumps(regions, *, max_freq_hz: float | None = None) -> str:
    by_file = regions if isinstance(regions, dict) else {None: list(regions)}
    multi = any(name is not None for name in by_file)
    rows = [(name, r) for name, rs in by_file.items() for r in sorted(rs, key=lambda r: (r.start_s, r.end_s))]
    flags = {"multi": multi, "with_conf": any(r.confidence is not None for _, r in rows),
             "with_note": any(r.note for _, r in rows),
             # band-less regions given the whole band for Raven's display are marked, so they read back band-less
             "with_no_band": max_freq_hz is not None and any(not r.has_band for _, r in rows)}
    lines = [header(**flags)] + [row(n, r, file=name, max_freq_hz=max_freq_hz, **flags)
                                 for n, (name, r) in enumerate(rows, start=1)]
    return "".join("\t".join(cells) + "\n" for cells in lines)
