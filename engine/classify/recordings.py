"""Classify recordings of any length into segment tables, streaming from disk.

Audio is read in blocks (:class:`engine.audio.long.LongAudio`), mixed to mono and resampled
block by block to the model's rate; clip-length windows every ``hop_s`` are classified
in batches and merged into segments (:mod:`engine.classify.segments`) that are written to the
table as soon as they close. Memory is one block plus one batch of windows, whatever the
length of the file: a 2-hour recording is never held whole.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.annotations.formats.stream import SUFFIXES, TableWriter
from engine.annotations.regions import Region
from engine.audio.io import fit_length
from engine.audio.long import LongAudio
from engine.classify.files import iter_audio_files
from engine.classify.segments import SegmentMerger, SegmentParams, clip_to
from engine.errors import EarmarkError
from engine.jobs import CancelToken, Progress, ignore_progress
from engine.jobs.outputs import Outputs
from engine.models.classifier import OnnxClassifier

MIN_HOP_S, MAX_HOP_S = 0.01, 3600.0  # 100 windows a second at most (a 1-sample hop would classify for hours)
BATCH_WINDOWS = 32  # windows per model call: a cancel is seen within ~0.6 s even for a ResNet-18


@dataclass
class SegmentFileResult:
    path: Path
    table: Path | None = None
    segments: int = 0
    duration_s: float = 0.0
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    warning: str | None = None


def find_audio(inputs: Sequence[str | os.PathLike], skipped: list[str] | None = None) -> list[tuple[Path, Path]]:
    """(file, folder it was found under) for files and, recursively, folders (walked as
    ``classify`` walks them: :func:`engine.classify.files.iter_audio_files`)."""
    out = []
    for item in map(Path, inputs):
        root = item if item.is_dir() else item.parent
        out += [(path, root) for path in iter_audio_files([item], skipped)]
    return out


def stream_windows(audio: LongAudio, sample_rate_hz: int, n_samples: int, hop_s: float,
                   batch: int = BATCH_WINDOWS) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(start times s, windows [k, n_samples]) in batches, as ``OnnxClassifier.windows`` cuts them."""
    hop = max(1, int(round(hop_s * sample_rate_hz)))
    buffer = np.zeros(0, dtype=np.float32)
    offset = 0  # model-rate index of buffer[0]
    next_start = 0
    total = 0
    starts: list[int] = []
    windows: list[np.ndarray] = []
    for block in audio.blocks(sample_rate_hz):
        buffer = np.concatenate([buffer, block])
        total += len(block)
        while next_start + n_samples <= offset + len(buffer):
            i = next_start - offset
            starts.append(next_start)
            windows.append(buffer[i:i + n_samples])
            next_start += hop
            if len(starts) == batch:
                yield _batch(starts, windows, sample_rate_hz)
                starts, windows = [], []
        keep_from = min(next_start, max(total - n_samples, 0)) - offset
        buffer = buffer[max(keep_from, 0):].copy()
        offset += max(keep_from, 0)
    last_start = starts[-1] if starts else next_start - hop
    if total <= n_samples and next_start == 0:  # shorter than one window: zero-padded, as classify does
        starts.append(0)
        windows.append(fit_length(buffer[:total], n_samples))
    elif last_start + n_samples < total:  # the tail: one more window ending at the end
        starts.append(total - n_samples)
        windows.append(buffer[total - n_samples - offset:total - offset])
    if starts:
        yield _batch(starts, windows, sample_rate_hz)


def _batch(starts: list[int], windows: list[np.ndarray], sample_rate_hz: int) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(starts, dtype=np.float64) / sample_rate_hz, np.stack(windows)


def quiet_windows(windows: np.ndarray, level_dbfs: float) -> np.ndarray:
    """Which windows vary less than ``level_dbfs`` RMS around their mean (silence, or a DC level)."""
    centred = windows - windows.mean(axis=1, keepdims=True, dtype=np.float64)
    rms = np.sqrt(np.mean(np.square(centred), axis=1))
    return rms < 10 ** (level_dbfs / 20)


def iter_segments(model: OnnxClassifier, audio: LongAudio, params: SegmentParams, *, hop_s: float | None = None,
                  cancel: CancelToken | None = None, quiet_count: list[int] | None = None,
                  on_progress: Callable[[Progress], None] = ignore_progress) -> Iterator[list[Region]]:
    """Batches of closed segments (pending suggestions) in the order they close."""
    meta = model.meta
    if hop_s is not None and not (MIN_HOP_S <= hop_s <= MAX_HOP_S):
        raise ValueError(f"hop {hop_s} s: the seconds between windows must lie between {MIN_HOP_S} and {MAX_HOP_S:g}")
    merger = SegmentMerger(model.labels, meta.clip_s, params.under(getattr(model, "thresholds", None)))
    for starts_s, windows in stream_windows(audio, meta.sample_rate_hz, meta.n_samples, hop_s or meta.clip_s / 2):
        if cancel is not None:
            cancel.raise_if_cancelled(f"classifying {audio.path}")
        probs = np.array(model.predict(windows), dtype=np.float64)
        quiet = quiet_windows(windows, params.min_level_dbfs)
        probs[quiet] = 0.0  # silence (or a DC level) is never a class: classify refuses to label it too
        if quiet_count is not None:
            quiet_count[0] += int(quiet.sum())
            quiet_count[1] += len(quiet)
        yield clip_to(merger.push(starts_s, probs), audio.duration_s)
        on_progress(Progress("segments", fraction=min(1.0, float(starts_s[-1]) / max(audio.duration_s, 1e-9)),
                             message=str(audio.path)))
    yield clip_to(merger.finish(), audio.duration_s)


def segment_file(model: OnnxClassifier, path: Path, table: Path, fmt: str, params: SegmentParams, *,
                 hop_s: float | None = None, cancel: CancelToken | None = None, before_commit=None,
                 on_progress: Callable[[Progress], None] = ignore_progress) -> SegmentFileResult:
    result = SegmentFileResult(path, table)
    quiet = [0, 0]  # windows below the level, windows
    with LongAudio(path) as audio, TableWriter(table, fmt, before_commit=before_commit) as writer:
        result.duration_s = audio.duration_s
        for regions in iter_segments(model, audio, params, hop_s=hop_s, cancel=cancel, on_progress=on_progress,
                                     quiet_count=quiet):
            writer.write(regions)
            for r in regions:
                result.counts[r.label] = result.counts.get(r.label, 0) + 1
        result.segments = writer.rows
        if audio.cut_short_at_s is not None:  # the table keeps what was found; the run reports the failure
            result.error = (f"{path}: the file ended at {audio.cut_short_at_s:.1f} s although its header states "
                            f"{audio.duration_s:.1f} s (cut short, or changed while read); the table {table} "
                            f"covers only the first {audio.cut_short_at_s:.1f} s")
    if quiet[1] and quiet[0] == quiet[1]:
        result.warning = (f"{path}: silent throughout (below {params.min_level_dbfs:g} dBFS, or a constant "
                          "level): no segments")
    elif quiet[0]:
        result.warning = f"{path}: {quiet[0]} of {quiet[1]} window(s) silent; no segment covers them"
    return result


def suggest_regions(model: OnnxClassifier, path: str | os.PathLike, params: SegmentParams, *,
                    hop_s: float | None = None, cancel: CancelToken | None = None,
                    on_progress: Callable[[Progress], None] = ignore_progress) -> list[Region]:
    """All segments of one file, for a suggestion track (segments are few; windows are not kept)."""
    with LongAudio(path) as audio:
        return [r for batch in iter_segments(model, audio, params, hop_s=hop_s, cancel=cancel,
                                             on_progress=on_progress) for r in batch]


def table_path(path: Path, root: Path, out_dir: Path, fmt: str) -> Path:
    """``out_dir`` mirrors the folder a file was found under; the name is the file's plus the format's suffix."""
    try:
        relative = path.relative_to(root)
    except ValueError:
        relative = Path(path.name)
    return out_dir / relative.parent / (relative.stem + SUFFIXES[fmt])


def segment_files(model: OnnxClassifier, inputs: Sequence[str | os.PathLike], out_dir: str | os.PathLike, fmt: str,
                  params: SegmentParams, *, hop_s: float | None = None, cancel: CancelToken | None = None,
                  force: bool = False, skipped: list[str] | None = None,
                  on_result: Callable[[SegmentFileResult], None] = lambda _r: None) -> list[SegmentFileResult]:
    """One table per input file; a file that cannot be read is reported and the rest go on.

    A table path holding a file Earmark did not write is refused for that file (or, with
    ``force``, backed up first: :mod:`engine.jobs.outputs`); two inputs that would write one
    table (``rec.wav`` and ``rec.flac``) write ``rec.txt`` and ``rec.flac.txt``."""
    results = []
    with Outputs(out_dir, force=force) as outputs:
        for path, root in find_audio(inputs, skipped):
            table = table_path(path, root, Path(out_dir), fmt)
            if table in outputs.claimed:
                table = outputs.unique(table.with_name(path.name + SUFFIXES[fmt]))
            try:
                # refused before any work; set aside (forced) only once the new table is whole. The
                # table grows in <table>.partial, a name only Earmark uses: one left by a killed run is replaced
                outputs.check(table)
                try:
                    result = segment_file(model, path, table, fmt, params, hop_s=hop_s, cancel=cancel,
                                          before_commit=outputs.claim)
                finally:
                    outputs.written(table)
            except EarmarkError as exc:
                result = SegmentFileResult(path, None, error=str(exc))
            results.append(result)
            on_result(result)
    return results


@dataclass(frozen=True)
class SuggestRequest:
    """What :func:`suggest_job` needs: a loaded model, a recording and the segment rules."""

    model: OnnxClassifier
    path: Path
    params: SegmentParams
    hop_s: float | None = None


def suggest_job(request: SuggestRequest, *, on_progress: Callable[[Progress], None],
                cancel: CancelToken) -> list[Region]:
    """:func:`suggest_regions` as an :mod:`engine.jobs` job (progress as a fraction of the file)."""
    return suggest_regions(request.model, request.path, request.params, hop_s=request.hop_s, cancel=cancel,
                           on_progress=on_progress)
