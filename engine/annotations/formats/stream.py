"""Segment tables written as they grow: each row is on disk (flushed) once written, so an
interrupted run keeps every segment it found. Same formats and number style as the
atomic writers (Audacity, Raven with a Confidence column, CSV)."""

from __future__ import annotations

import csv
from pathlib import Path

from engine.annotations.formats import audacity, raven, table
from engine.annotations.formats.common import InterchangeError
from engine.annotations.regions import Region

SUFFIXES = {"audacity": ".txt", "raven": ".selections.txt", "csv": ".csv"}


class TableWriter:
    """``write(regions)`` appends and flushes; ``close()`` ends the table (use ``with``)."""

    def __init__(self, path: str | Path, fmt: str) -> None:
        if fmt not in SUFFIXES:
            raise InterchangeError(f"{path}: unknown table format {fmt!r}; valid: {', '.join(SUFFIXES)}")
        self.path = Path(path)
        self.fmt = fmt
        self.rows = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "w", encoding="utf-8", newline="")
        except OSError as exc:
            raise InterchangeError(f"{self.path}: cannot write the table ({exc.strerror or exc})") from exc
        self._csv = csv.writer(self._handle, lineterminator="\n") if fmt == "csv" else None
        if fmt == "raven":
            self._handle.write("\t".join(raven.header(multi=False, with_conf=True, with_note=False)) + "\n")
        elif fmt == "csv":
            self._csv.writerow(table.COLUMNS)
        self._handle.flush()

    def write(self, regions: list[Region]) -> None:
        for r in regions:
            self.rows += 1
            if self.fmt == "audacity":
                self._handle.write(audacity.region_text(r))
            elif self.fmt == "raven":
                self._handle.write("\t".join(raven.row(self.rows, r, with_conf=True)) + "\n")
            else:
                self._csv.writerow(table.row(None, r))
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
