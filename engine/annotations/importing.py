"""Importing a label file onto a region track as an :mod:`engine.jobs` job (off the GUI thread).

A label file may hold a million regions: reading it, checking each against the track and
saving takes seconds and hundreds of megabytes, so the Annotate tab runs :func:`import_job`
in a worker. The job saves the regions (:meth:`RegionTrack.import_regions`) and sorts them
once, but announces nothing: the view calls :meth:`RegionTrack.announce` with the result's
change on its own thread, which makes the import undoable and repaints. Cancelling before
the save starts changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.annotations.formats import read_regions
from engine.annotations.region import RegionChange
from engine.annotations.regions import RegionTrack
from engine.jobs import CancelToken, Progress


@dataclass(frozen=True)
class ImportRequest:
    track: RegionTrack
    path: Path


@dataclass(frozen=True)
class ImportResult:
    path: Path
    read: int  # regions in the file for this recording
    change: RegionChange | None  # None: every region was on the track already

    @property
    def added(self) -> int:
        return len(self.change.after) if self.change is not None else 0


def import_job(request: ImportRequest, *, on_progress: Callable[[Progress], None],
               cancel: CancelToken) -> ImportResult:
    track, path = request.track, Path(request.path)
    on_progress(Progress("import", message=f"reading {path.name}"))
    by_file = read_regions(path)
    cancel.raise_if_cancelled(f"importing {path.name}")
    name = track.audio_path.name.lower()
    regions = [r for key, rs in by_file.items() if key is None or key.lower() == name for r in rs]
    del by_file

    def checked(done: int, total: int) -> None:
        on_progress(Progress("import", done, total, f"checking {done:,} of {total:,} region(s)"))

    change = track.import_regions(regions, cancel=cancel, on_progress=checked)
    on_progress(Progress("import", len(regions), len(regions), "sorting"))
    track.regions  # noqa: B018  (sorted here, once, rather than on the GUI thread at the next repaint)
    return ImportResult(path, len(regions), change)
