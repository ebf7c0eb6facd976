"""Segment tables written as they grow: each row is on disk (flushed) once written, so an
interrupted run keeps every segment it found. Same formats and number style as the
atomic writers (Audacity, Raven with a Confidence column, CSV)."""

from __future__ import annotations

import csv
from pathlib import Path

from engine.interchange import raven, table
from engine.interchange.common import InterchangeError, clean_text, fmt_number
from engine.regions import Region

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
            self._handle.write("\t".join(["Selection", "View", "Channel", raven.BEGIN, raven.END, raven.LOW,
                                          raven.HIGH, "Annotation", raven.CONFIDENCE]) + "\n")
        elif fmt == "csv":
            self._csv.writerow(table.COLUMNS)
        self._handle.flush()

    def write(self, regions: list[Region]) -> None:
        for r in regions:
            self.rows += 1
            if self.fmt == "audacity":
                self._handle.write(f"{fmt_number(r.start_s)}\t{fmt_number(r.end_s)}\t{clean_text(r.label)}\n")
                if r.has_band:
                    self._handle.write(f"\\\t{fmt_number(r.low_hz)}\t{fmt_number(r.high_hz)}\n")
            elif self.fmt == "raven":
                low, high = (r.low_hz, r.high_hz) if r.has_band else (None, None)
                self._handle.write("\t".join([str(self.rows), raven.VIEW, "1", fmt_number(r.start_s),
                                              fmt_number(r.end_s), fmt_number(low), fmt_number(high),
                                              clean_text(r.label), fmt_number(r.confidence)]) + "\n")
            else:
                self._csv.writerow(["", fmt_number(r.start_s), fmt_number(r.end_s), fmt_number(r.low_hz),
                                    fmt_number(r.high_hz), r.label, r.note, r.source, r.state,
                                    fmt_number(r.confidence)])
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
