"""Segment tables written as they grow: each row is on disk (flushed) once written, in
``<table>.partial`` beside the table, so an interrupted run keeps every segment it found.
:meth:`TableWriter.commit` renames the finished (or interrupted) table into place in one
step, so a reader of the table sees no table or a whole one, never half; :meth:`TableWriter.abort`
removes the partial file (a recording that failed half-way leaves nothing). Same formats and
number style as the atomic writers (Audacity, Raven with a Confidence column, CSV)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from engine.annotations.formats import audacity, raven, table
from engine.annotations.formats.common import InterchangeError
from engine.annotations.regions import Region
from engine.errors import SaveError

PARTIAL_SUFFIX = ".partial"
SUFFIXES = {"audacity": ".txt", "raven": ".selections.txt", "csv": ".csv"}


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + PARTIAL_SUFFIX)


class TableWriter:
    """``write(regions)`` appends and flushes; ``commit()`` puts the table in place, ``abort()``
    drops it. Used with ``with``: a normal end or Ctrl-C commits, any other exception aborts."""

    def __init__(self, path: str | Path, fmt: str, *, before_commit=None) -> None:
        if fmt not in SUFFIXES:
            raise InterchangeError(f"{path}: unknown table format {fmt!r}; valid: {', '.join(SUFFIXES)}")
        self.path = Path(path)
        self.partial = partial_path(self.path)
        self.fmt = fmt
        self.rows = 0
        self._handle = None
        self._before_commit = before_commit  # e.g. set aside the file at ``path`` (engine.jobs.outputs)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.partial, "w", encoding="utf-8", newline="")
            self._csv = csv.writer(self._handle, lineterminator="\n") if fmt == "csv" else None
            if fmt == "raven":
                self._handle.write("\t".join(raven.header(multi=False, with_conf=True, with_note=False)) + "\n")
            elif fmt == "csv":
                self._csv.writerow(table.COLUMNS)
            self._handle.flush()
        except OSError as exc:
            self.abort()
            raise _save_error(self.path, exc) from exc

    def write(self, regions: list[Region]) -> None:
        try:
            for r in regions:
                self.rows += 1
                if self.fmt == "audacity":
                    self._handle.write(audacity.region_text(r))
                elif self.fmt == "raven":
                    self._handle.write("\t".join(raven.row(self.rows, r, with_conf=True)) + "\n")
                else:
                    self._csv.writerow(table.row(None, r))
            self._handle.flush()
        except OSError as exc:
            raise _save_error(self.path, exc) from exc

    def commit(self) -> None:
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            if self._before_commit is not None:
                self._before_commit(self.path)
            os.replace(self.partial, self.path)
        except OSError as exc:
            self.abort()
            raise _save_error(self.path, exc) from exc

    def abort(self) -> None:
        if self._handle is not None:
            try:
                self._handle.close()
            except OSError:
                pass
        self.partial.unlink(missing_ok=True)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if kind is None or issubclass(kind, KeyboardInterrupt):
            self.commit()
        else:
            self.abort()


def _save_error(path: Path, exc: OSError) -> SaveError:
    full = " (the disk is full)" if exc.errno == 28 else ""
    return SaveError(f"Cannot write the table {path}{full}: {exc.strerror or exc}")
