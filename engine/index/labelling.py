"""The loop's engine half: a window of an index labelled into its recording's sidecar, the labelled
regions of the indexed folder cut into a data set, and the folder re-scored by a new model.

- :func:`label_window` writes the window as a person's region through
  :class:`engine.annotations.regions.RegionTrack` — the code the Annotate tab edits with — so the
  sidecar's lock and journal hold: the app, a script and the command line labelling one recording
  at once lose nothing. A window already labelled (a person's accepted region at exactly its
  times) is relabelled rather than doubled; :data:`BACKGROUND` is a label like any other.
- :func:`labelled_rows` reads the sidecars back: which rows of the index a person has labelled,
  so the queue never asks twice.
- :func:`dataset_job` is :func:`engine.datasets.from_regions.clips_job` over every recording of the
  indexed folder that has a sidecar: one clip per labelled region, grouped by recording.
- :func:`rescore_job` indexes the folder again with the new model, into a new index folder
  (:func:`engine.index.build.index_job`). A new index rather than new probabilities in the old one:
  a trained model's embedding changes with its weights (search and the map must use the new
  vectors, not the old model's), and its window and rate may differ, so its rows need not line
  up with the old index's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.annotations.regions import ACCEPTED, SIDECAR_SUFFIX, Region, RegionTrack, sidecar_path
from engine.datasets.clips import label_problem, shown_label
from engine.datasets.from_regions import ClipsRequest, ClipsResult, clips_job
from engine.errors import EarmarkError
from engine.index.build import IndexRequest, IndexResult, index_job
from engine.index.search import Index
from engine.jobs import CancelToken, Progress, ignore_progress

BACKGROUND = "background"
SAME_TIME_S = 1e-6


def recording_path(index: Index, recording: str) -> Path:
    """The audio file of ``recording`` (as the index names it, relative to its folder)."""
    return index.folder / recording


def label_window(index: Index, recording: str, start_s: float, end_s: float, label: str, *,
                 tracks: dict[str, RegionTrack] | None = None) -> Region:
    """Write ``[start_s, end_s]`` of ``recording`` as a person's region labelled ``label`` into the
    recording's sidecar (relabelling a region already at exactly those times). ``tracks`` keeps
    each recording's opened track between calls (one reading of the sidecar, then only what other
    editors append is read)."""
    label = _checked_label(label)
    path = _recording_file(index, recording)
    track = tracks.get(recording) if tracks is not None else None
    if track is None:
        track = RegionTrack.open(path)
        if tracks is not None:
            tracks[recording] = track
    twin = _twin(track, start_s, end_s)
    if twin is not None:
        return track.update(twin.id, label=label) if twin.label != label else twin
    return track.add(start_s, end_s, label)


@dataclass(frozen=True)
class LabelWindowsRequest:
    """Label many windows of the index at ``index`` at once: (recording, start s, end s) each (a
    group lassoed on the map, the hits of ``similar --label``, the windows ``label`` names)."""

    index: Path
    windows: tuple[tuple[str, float, float], ...]
    label: str


def label_windows_job(request: LabelWindowsRequest, *, on_progress: Callable[[Progress], None] = ignore_progress,
                      cancel: CancelToken | None = None) -> int:
    """:func:`label_window` for every window, as one undoable change per recording (one journal line
    or snapshot each, not an fsync per window: thousands of windows take seconds, not minutes).
    Returns how many windows were labelled. Cancelling keeps the recordings done so far."""
    return label_windows(Index(request.index), request.windows, request.label, on_progress=on_progress,
                         cancel=cancel)


def label_windows(index: Index, windows: Iterable[tuple[str, float, float]], label: str, *,
                  on_progress: Callable[[Progress], None] = ignore_progress, cancel: CancelToken | None = None) -> int:
    """:func:`label_windows_job`'s work on an opened index."""
    cancel, windows = cancel or CancelToken(), list(windows)
    label = _checked_label(label)
    spans: dict[str, list[tuple[float, float]]] = {}
    for recording, start_s, end_s in windows:
        spans.setdefault(recording, []).append((float(start_s), float(end_s)))
    files = {recording: _recording_file(index, recording) for recording in spans}  # all checked before any write
    for i, (recording, places) in enumerate(spans.items()):
        cancel.raise_if_cancelled("labelling windows")
        on_progress(Progress("label", i, len(spans), f"labelling {len(places):,} window(s) of {recording}"))
        track = RegionTrack.open(files[recording])
        new = []
        for start_s, end_s in places:
            twin = _twin(track, start_s, end_s)
            if twin is None:
                new.append(Region(start_s, end_s, label))
            elif twin.label != label:
                track.update(twin.id, label=label)
        if new:
            track.replace_all(new, action="label")
    on_progress(Progress("label", len(spans), len(spans), f"labelled {len(windows):,} window(s) {label!r}"))
    return len(windows)


def _checked_label(label: str) -> str:
    label = label.strip()
    if not label:
        raise EarmarkError("a window needs a label (e.g. the sound's name, or background)")
    if problem := label_problem(label):  # refused now, not later when the data set is cut
        raise EarmarkError(f"the label {shown_label(label)} {problem}: a data set could not use it")
    return label


def _recording_file(index: Index, recording: str) -> Path:
    if recording not in index.recordings:
        raise EarmarkError(f"{recording}: not a recording of the index of {index.folder}")
    path = recording_path(index, recording)
    if not path.is_file():
        raise EarmarkError(f"{path}: the recording is gone (index the folder again)")
    return path


def _twin(track: RegionTrack, start_s: float, end_s: float) -> Region | None:
    """A person's accepted region at (about) exactly these times: labelling it again relabels it."""
    return next((r for r in track.between(start_s, end_s)
                 if r.state == ACCEPTED and abs(r.start_s - start_s) < SAME_TIME_S
                 and abs(r.end_s - end_s) < SAME_TIME_S), None)


def window_of_row(index: Index, row: int) -> tuple[str, float, float]:
    """(recording, start s, end s) of row ``row``; ``EarmarkError`` when it is not a live window."""
    if not 0 <= row < len(index.recording_of_row) or index.recording_of_row[row] < 0:
        raise EarmarkError(f"row {row} is not a live window of the index (0 to {len(index.recording_of_row) - 1})")
    hit = index.hit(int(row), 0.0)
    return hit.recording, hit.start_s, hit.end_s



def labelled_regions(index: Index) -> dict[str, list[Region]]:
    """Per recording of the index that has a sidecar: its accepted, labelled regions."""
    out = {}
    for recording in index.recordings:
        path = recording_path(index, recording)
        if sidecar_path(path).exists():
            regions = [r for r in RegionTrack.open(path, autosave=False).accepted() if r.label.strip()]
            if regions:
                out[recording] = regions
    return out


def labelled_rows(index: Index, regions: dict[str, list[Region]] | None = None) -> dict[int, str]:
    """Rows of the index covered by a labelled region (each region's best rows, as a query's
    example is read: :meth:`Index.rows_in`), with the label."""
    rows: dict[int, str] = {}
    for recording, found in (labelled_regions(index) if regions is None else regions).items():
        for region in found:
            for row in index.rows_in(recording, region.start_s, region.end_s).tolist():
                rows[int(row)] = region.label
    return rows


def annotated_recordings(folder: Path, recordings: Iterable[str]) -> list[tuple[Path, Path]]:
    """(recording, its sidecar) for each of ``recordings`` (relative to ``folder``) that has one."""
    out = []
    for recording in recordings:
        audio = folder / recording
        if sidecar_path(audio).exists() and audio.is_file():
            out.append((audio, sidecar_path(audio)))
    return out


def labelled_windows(index: Index, regions: dict[str, list[Region]] | None = None) -> dict[int, str]:
    """Rows of the index whose window a labelled region covers more than half of, with that
    region's label (the most covering one): what a person labelled, window by window, as the map
    colours it. Stricter than :func:`labelled_rows`, which also counts a neighbour the region
    half-covers (the queue skips those too)."""
    best: dict[int, tuple[float, str]] = {}
    for recording, found in (labelled_regions(index) if regions is None else regions).items():
        for region in found:
            rows = index.rows_overlapping(recording, region.start_s, region.end_s)
            starts = np.asarray(index.starts[rows])
            cover = np.minimum(starts + index.window_s, region.end_s) - np.maximum(starts, region.start_s)
            for row, c in zip(rows.tolist(), cover.tolist(), strict=True):
                if c > 0.5 * index.window_s + 1e-9 and c > best.get(row, (0.0, ""))[0]:
                    best[row] = (c, region.label)
    return {row: label for row, (_, label) in best.items()}


@dataclass(frozen=True)
class DatasetRequest:
    """Cut the labelled regions of an index's folder into a CSV-layout data set at ``out``."""

    index: Path
    out: Path
    padding_s: float = 0.0
    background: str | None = None   # also cut unlabelled stretches into clips of this class (clips --background)
    force: bool = False


def dataset_job(request: DatasetRequest, *, on_progress: Callable[[Progress], None] = ignore_progress,
                cancel: CancelToken | None = None) -> ClipsResult:
    """:func:`engine.datasets.from_regions.clips_job` over the annotated recordings of the index's
    folder (``data.csv`` grouped by recording). Raises ``EarmarkError`` when none is annotated."""
    index = Index(request.index)
    pairs = annotated_recordings(index.folder, index.recordings)
    if not pairs:
        raise EarmarkError(f"no recording of {index.folder} has labelled regions yet "
                           f"(label windows first; they are saved in *{SIDECAR_SUFFIX} beside each recording)")
    # each recording's group is its path under the folder (a/rec.wav and b/rec.wav are two groups)
    groups = tuple(_group_name(index.folder, a) for a, _ in pairs)
    clips = ClipsRequest(tuple(a for a, _ in pairs), tuple(s for _, s in pairs), Path(request.out),
                         padding_s=request.padding_s, background=request.background,
                         force=request.force, groups=groups)
    return clips_job(clips, on_progress=on_progress, cancel=cancel or CancelToken())


def _group_name(folder: Path, audio: Path) -> str:
    try:
        return Path(audio).relative_to(folder).with_suffix("").as_posix()
    except ValueError:
        return Path(audio).stem


@dataclass(frozen=True)
class RescoreRequest:
    """Index the folder of the index at ``index`` again with ``model_path`` into ``out`` (None: the
    user cache, as ``main.py index`` chooses)."""

    index: Path
    model_path: Path
    out: Path | None = None
    embedding: str = "auto"


def rescore_job(request: RescoreRequest, *, on_progress: Callable[[Progress], None] = ignore_progress,
                cancel: CancelToken | None = None) -> IndexResult:
    """A new index of the same folder by the new model (see the module docstring for why)."""
    folder = Index(request.index).folder
    if request.out is not None and os.path.realpath(request.out) == os.path.realpath(request.index):
        raise EarmarkError(f"{request.out}: re-scoring writes a new index; name another folder than the old one")
    return index_job(IndexRequest(folder=folder, model_path=Path(request.model_path),
                                  out=Path(request.out) if request.out else None, embedding=request.embedding),
                     on_progress=on_progress, cancel=cancel)
