"""Importing a label file onto a region track as an :mod:`engine.jobs` job (off the GUI thread).

A label file may hold a million regions: reading it, checking each against the track and
saving takes seconds and hundreds of megabytes, so the Annotate tab runs :func:`import_job`
in a worker. The job saves the regions (:meth:`RegionTrack.import_regions`) and sorts them
indexes them once, but announces nothing: the view calls :meth:`RegionTrack.announce` with the result's
change on its own thread, which makes the import undoable and repaints. Cancelling before
the save starts changes nothing.

Python's cyclic garbage collector is paused while an import runs, and the objects alive at its
end are moved out of its reach (``gc.freeze``): a full collection walks every object, and with
a million regions that is half a second in which no thread runs, the GUI's included (measured:
a 0.53 s stall while parsing). Regions hold no reference cycles; reference counting frees them.

The interpreter's switch interval is shortened while an import runs (5 ms to 0.5 ms): the GUI
thread takes the interpreter lock back many times per repaint, and each time it waited up to
the whole interval behind the busy import (stalls of 0.26-0.46 s measured on 1e6 rows; 0.09 s
at most with the short interval; scripts in docs/RELIABILITY.md).
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from collections.abc import Callable, Iterator
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
    with _collector_paused():
        return _import(request, on_progress, cancel)


def _import(request: ImportRequest, on_progress: Callable[[Progress], None], cancel: CancelToken) -> ImportResult:
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
    track.index  # noqa: B018  (built here, once, rather than on the GUI thread at the next repaint)
    return ImportResult(path, len(regions), change)


_pause_lock = threading.Lock()
_pauses: list = [0, False, 0.005]  # imports running; the collector's state and switch interval before the first
IMPORT_SWITCH_INTERVAL_S = 0.0005


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    with _pause_lock:
        if _pauses[0] == 0:
            _pauses[1] = gc.isenabled()
            _pauses[2] = sys.getswitchinterval()
            gc.disable()
            sys.setswitchinterval(min(_pauses[2], IMPORT_SWITCH_INTERVAL_S))
        _pauses[0] += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses[0] -= 1
            if _pauses[0] == 0:
                sys.setswitchinterval(_pauses[2])
                if _pauses[1]:
                    gc.freeze()  # what exists now is long-lived: later collections leave it alone
                    gc.enable()
