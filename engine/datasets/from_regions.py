"""Data sets cut from annotated recordings: one clip per labelled region, grouped by recording.

:func:`make_clips` reads each recording's label file (any format :mod:`engine.annotations.formats`
reads, or a region sidecar), cuts every accepted, labelled region (plus ``padding_s``
either side, clamped to the file) straight from disk with a seek, and writes
``DIR/clips/<recording>/<n>_<label>.wav`` and ``DIR/data.csv`` in Earmark's CSV layout
(``path,label,group`` plus ``source,start_s,end_s``). The group is the source recording,
so a grouped split never puts neighbouring regions of one recording on both sides.

With ``background`` set, unlabelled stretches (gaps between all regions that are not
rejected) are cut into clips of ``background_s`` seconds (default: the median region
length) under that label, at most as many per recording as it has labelled regions,
spread evenly over the gaps.
"""

from __future__ import annotations

import errno
import hashlib
import math
import os
import re
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from engine.annotations.formats import read_regions
from engine.annotations.regions import ACCEPTED, REJECTED, Region
from engine.atomic import LOW_SPACE_BYTES, atomic_write_text, atomic_write_with
from engine.datasets.clips import label_problem, shown_label
from engine.errors import AudioLoadError, EarmarkError
from engine.jobs import CancelToken, Progress, ignore_progress
from engine.jobs.outputs import Outputs

CSV_NAME = "data.csv"
CSV_HEADER = "path,label,group,source,start_s,end_s"
CLIPS_FOLDER = "clips"
COPY_BLOCK_FRAMES = 1 << 20
MAX_PADDING_S = 3600.0
MIN_BACKGROUND_S = 0.01  # shorter background clips are no use to a model (and the probe's 1 µs regions made billions)


class ClipsError(EarmarkError):
    """Recordings and label files do not match up, or a recording cannot be cut."""


@dataclass
class ClipsResult:
    csv_path: Path
    counts: dict[str, int]
    groups: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def n_clips(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class _Cut:
    start_s: float
    end_s: float
    label: str


def match_labels(audio_paths: Sequence[Path], label_paths: Sequence[Path]) -> dict[Path, list[Region]]:
    """Regions per recording: a table's file names, else the label file named after the recording."""
    by_name = {p.name.lower(): p for p in audio_paths}
    by_stem = {p.stem.lower(): p for p in audio_paths}
    out: dict[Path, list[Region]] = {p: [] for p in audio_paths}
    for label_path in label_paths:
        for file_name, regions in read_regions(label_path).items():
            audio = _audio_for(label_path, file_name, audio_paths, by_name, by_stem)
            out[audio].extend(regions)
    return out


def _audio_for(label_path: Path, file_name: str | None, audio_paths, by_name, by_stem) -> Path:
    if file_name is not None:
        key = file_name.lower()
        found = by_name.get(key) or by_stem.get(Path(key).stem)
        if found is None:
            raise ClipsError(f"{label_path}: it labels {file_name!r}, which is not among the --audio files")
        return found
    label_name = label_path.name.lower()
    candidates = [p for p in audio_paths if label_name.startswith(p.stem.lower() + ".")
                  or label_name.startswith(p.name.lower()) or label_path.stem.lower() == p.stem.lower()]
    if len(candidates) > 1:  # "rec" and "rec.1": the longest matching name wins
        candidates.sort(key=lambda p: len(p.stem), reverse=True)
        if len(candidates[0].stem) == len(candidates[1].stem):
            raise ClipsError(f"{label_path}: could label {candidates[0]} or {candidates[1]}; name it after one")
    if candidates:
        return candidates[0]
    if len(audio_paths) == 1:
        return audio_paths[0]
    raise ClipsError(f"{label_path}: no --audio file is named like it (name a label file after its "
                     f"recording, e.g. {audio_paths[0].stem}.txt)")


def annotated_beside(audio_path: str | os.PathLike) -> list[tuple[Path, Path]]:
    """(recording, its region sidecar) for every annotated recording in ``audio_path``'s folder."""
    from engine.annotations.regions import SIDECAR_SUFFIX

    folder = Path(audio_path).parent
    out = []
    for sidecar in sorted(folder.glob("*" + SIDECAR_SUFFIX)):
        audio = sidecar.with_name(sidecar.name[: -len(SIDECAR_SUFFIX)])
        if audio.is_file():
            out.append((audio, sidecar))
    return out


def default_dataset_folder(audio_path: str | os.PathLike) -> Path:
    """Where a data set cut from ``audio_path``'s folder goes unless a person says otherwise: a new
    folder beside the recordings (``<folder>/<recording> data set``, ``… data set 2``…), never
    the recordings' own folder."""
    audio_path = Path(audio_path)
    base = audio_path.parent / f"{audio_path.stem} data set"
    candidate, n = base, 1
    while os.path.lexists(candidate):
        n += 1
        candidate = base.with_name(f"{base.name} {n}")
    return candidate


def make_clips(audio_paths: Sequence[str | os.PathLike], label_paths: Sequence[str | os.PathLike],
               out_dir: str | os.PathLike, *, padding_s: float = 0.0, background: str | None = None,
               background_s: float | None = None, force: bool = False,
               on_progress: Callable[[Progress], None] = ignore_progress,
               cancel: CancelToken | None = None, groups: Sequence[str] | None = None) -> ClipsResult:
    """Cut the data set. ``groups``: each recording's group name, with ``label_paths[i]`` holding
    the regions of ``audio_paths[i]`` (a folder tree's ``a/rec.wav`` and ``b/rec.wav`` share a
    file name, so neither can be found by name); by default each recording's file name is its
    group and label files are matched to recordings by name. Every path is planned and checked before anything is written: a file in
    ``out_dir`` that Earmark did not write (a person's ``data.csv``, a clip edited by hand) is
    refused with :class:`engine.jobs.outputs.OutputExistsError`, or with ``force`` kept beside
    it as a ``.backup``; each file is written atomically."""
    audio = [Path(p) for p in audio_paths]
    if not audio:
        raise ClipsError("no recordings given (--audio)")
    if not (math.isfinite(padding_s) and 0 <= padding_s <= MAX_PADDING_S):
        raise ClipsError(f"padding must lie between 0 and {MAX_PADDING_S:g} s, got {padding_s} s")
    if background_s is not None and not (math.isfinite(background_s) and MIN_BACKGROUND_S <= background_s):
        raise ClipsError(f"a background clip must last at least {MIN_BACKGROUND_S} s, got {background_s} s")
    if background is not None and (problem := label_problem(background)):
        raise ClipsError(f"the background label {shown_label(background)} {problem}")
    if groups is None:
        names = [p.stem for p in audio]
        regions = match_labels(audio, [Path(p) for p in label_paths])
    else:
        names = [str(g) for g in groups]
        if not len(names) == len(label_paths) == len(audio):
            raise ClipsError(f"{len(audio)} recording(s), {len(label_paths)} label file(s) and {len(names)} "
                             "group name(s): one of each per recording")
        regions = {a: [r for rs in read_regions(label).values() for r in rs] for a, label in zip(audio, label_paths, strict=True)}
    if len({n.lower() for n in names}) != len(names):
        raise ClipsError("two recordings have the same name; each recording is one group, so names must differ")
    out = Path(out_dir)
    notes: list[str] = []
    plans = []
    folders: set[str] = set()
    for path, name in zip(audio, names, strict=True):
        plan = _plan_recording(path, name, regions[path], out, padding_s, background, background_s, notes, folders)
        plans.append(plan)
    if not any(plan.cuts for plan in plans):
        reasons = "".join(f"\n  {note}" for note in notes)
        raise ClipsError("no labelled regions to cut: label some regions (accepted, with a label) first" + reasons)
    csv_path = out / CSV_NAME
    with Outputs(out, force=force) as outputs:
        for path in [csv_path] + [clip for plan in plans for clip, _ in plan.clips()]:
            outputs.check(path)  # refused before anything is written
        rows = []
        for step, plan in enumerate(plans):
            if cancel is not None:
                cancel.raise_if_cancelled("cutting clips")
            on_progress(Progress("clips", step, len(plans), f"cutting {plan.path.name}"))
            rows += _write_recording(plan, out, outputs)
        lines = ["path,label,group,source,start_s,end_s"] + [",".join(_csv_cell(c) for c in row) for row in rows]
        atomic_write_text(outputs.claim(csv_path), "\n".join(lines) + "\n")
        outputs.written(csv_path)
    notes += [f"{old} was kept as {backup}" for old, backup in outputs.backups]
    on_progress(Progress("clips", len(plans), len(plans), f"wrote {csv_path}"))
    return ClipsResult(csv_path, dict(Counter(row[1] for row in rows)), names, notes)


@dataclass
class _Plan:
    path: Path
    group: str
    info: Any
    folder: Path
    cuts: list[_Cut]

    def clips(self) -> list[tuple[Path, _Cut]]:
        ordered = sorted(self.cuts, key=lambda c: c.start_s)
        return [(self.folder / f"{n:04d}_{_safe(cut.label)}.wav", cut) for n, cut in enumerate(ordered, start=1)]


def _plan_recording(path: Path, group: str, regions: list[Region], out: Path, padding_s: float, background: str | None,
                    background_s: float | None, notes: list[str], folders: set[str]) -> _Plan:
    info = _checked_info(path)
    duration_s = info.frames / info.samplerate
    labelled = [r for r in regions if r.state == ACCEPTED and r.label.strip()]
    _note_conflicts(path, labelled, notes)
    cuts = []
    for r in labelled:
        start, end = max(0.0, r.start_s - padding_s), min(duration_s, r.end_s + padding_s)
        if end <= start or r.start_s >= duration_s:
            notes.append(f"{path.name}: region {r.label!r} at {r.start_s:.3f} s lies outside the "
                         f"{duration_s:.3f} s recording or is empty; skipped")
            continue
        label = r.label.strip()
        if problem := label_problem(label):
            raise ClipsError(f"{path.name}: the label {shown_label(label)} at {r.start_s:.3f} s {problem}; "
                             "a data set cannot use it (fix the label file)")
        cuts.append(_Cut(start, end, label))
    if background and cuts:
        length = background_s or float(np.median([c.end_s - c.start_s for c in cuts]))
        length = max(length, MIN_BACKGROUND_S)
        taken = [r for r in regions if r.state != REJECTED]
        cuts += _background_cuts(taken, duration_s, length, len(cuts), background)
    return _Plan(path, group, info, out / CLIPS_FOLDER / _folder_name(group, folders), cuts)


def _checked_info(path: Path):
    """The recording's header, with the limits every reader applies (engine.audio.io)."""
    from engine.audio.io import check_header

    try:
        info = sf.info(os.fspath(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioLoadError(f"{path}: cannot read the recording ({exc})") from exc
    check_header(path, info)
    return info


def _folder_name(stem: str, taken: set[str]) -> str:
    """A clip folder per recording: its cleaned-up name, with a digest of the real name when cleaning
    changed it (``rec 1`` and ``rec_1``, or ``日本`` and ``中文``, never share a folder)."""
    name = _safe(stem)
    if name != stem:
        name = f"{name}-{hashlib.sha1(stem.encode('utf-8', 'surrogateescape')).hexdigest()[:8]}"
    base, n = name, 1
    while name.lower() in taken:
        n += 1
        name = f"{base}-{n}"
    taken.add(name.lower())
    return name


def _write_recording(plan: _Plan, out: Path, outputs: Outputs) -> list[tuple]:
    info = plan.info
    subtype = info.subtype if sf.check_format("WAV", info.subtype) else "FLOAT"
    rows = []
    with sf.SoundFile(os.fspath(plan.path)) as src:
        for clip, cut in plan.clips():
            first, last = int(round(cut.start_s * info.samplerate)), int(round(cut.end_s * info.samplerate))
            atomic_write_with(outputs.claim(clip), lambda tmp, a=first, b=last: _copy_frames(src, a, b, tmp, info, subtype),
                              suffix=".wav")
            outputs.written(clip)
            rows.append((clip.relative_to(out).as_posix(), cut.label, plan.group, plan.path.name,
                         f"{cut.start_s:.6f}", f"{cut.end_s:.6f}"))
    return rows


def _note_conflicts(path: Path, labelled: list[Region], notes: list[str]) -> None:
    """Say when regions with different labels overlap: their clips share audio under two labels."""
    ordered = sorted(labelled, key=lambda r: r.start_s)
    pairs = [(a, b) for i, a in enumerate(ordered) for b in ordered[i + 1:]
             if b.start_s < a.end_s and a.label.strip() != b.label.strip()]
    if pairs:
        a, b = pairs[0]
        notes.append(f"{path.name}: {len(pairs)} pair(s) of regions with different labels overlap, e.g. "
                     f"{a.label!r} {a.start_s:.2f}–{a.end_s:.2f} s and {b.label!r} {b.start_s:.2f}–{b.end_s:.2f} s: "
                     "their clips share audio under two labels")


def _copy_frames(src: sf.SoundFile, first: int, last: int, clip: str, info, subtype: str) -> None:
    """Frames ``first..last`` of ``src`` into a new WAV, a block at a time (a region may be hours long)."""
    src.seek(first)
    try:
        with sf.SoundFile(clip, "w", samplerate=info.samplerate, channels=info.channels,
                          subtype=subtype, format="WAV") as out:
            position = first
            while position < last:
                block = src.read(min(COPY_BLOCK_FRAMES, last - position), dtype="float32", always_2d=True)
                if not len(block):
                    break
                out.write(block)
                position += len(block)
    except (sf.LibsndfileError, RuntimeError) as exc:  # libsndfile says "System error." for a full disk
        if shutil.disk_usage(os.path.dirname(clip)).free < LOW_SPACE_BYTES:  # while the half clip still holds it
            raise OSError(errno.ENOSPC, "No space left on device") from exc
        raise OSError(errno.EIO, f"cannot write the clip ({exc})") from exc


def _background_cuts(regions: list[Region], duration_s: float, length_s: float, most: int, label: str) -> list[_Cut]:
    """Up to ``most`` clips of ``length_s`` from stretches no region touches, spread evenly.

    The slots are counted per gap and only the picked ones are made, so memory follows the
    number of regions, never the number of slots (microsecond regions make billions)."""
    spans = sorted((r.start_s, r.end_s) for r in regions)
    gaps, cursor = [], 0.0
    for start, end in spans + [(duration_s, duration_s)]:
        if start - cursor >= length_s:
            gaps.append((cursor, start))
        cursor = max(cursor, end)
    counts = np.array([int((b - a) // length_s) for a, b in gaps], dtype=np.int64)
    total = int(counts.sum())
    if total <= 0 or most <= 0:
        return []
    ends = np.cumsum(counts)
    picks = np.unique(np.linspace(0, total - 1, num=min(most, total)).round().astype(np.int64))
    cuts = []
    for i in picks:
        g = int(np.searchsorted(ends, i, side="right"))
        k = int(i - (ends[g] - counts[g]))
        a = gaps[g][0]
        cuts.append(_Cut(a + k * length_s, a + (k + 1) * length_s, label))
    return cuts


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "region"


def _csv_cell(value) -> str:
    text = str(value)
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


@dataclass(frozen=True)
class ClipsRequest:
    """What :func:`clips_job` needs (see :func:`make_clips`)."""

    audio_paths: tuple[Path, ...]
    label_paths: tuple[Path, ...]
    out_dir: Path
    padding_s: float = 0.0
    background: str | None = None
    background_s: float | None = None
    force: bool = False
    groups: tuple[str, ...] | None = None  # see make_clips


def clips_job(request: ClipsRequest, *, on_progress: Callable[[Progress], None], cancel: CancelToken) -> ClipsResult:
    """:func:`make_clips` as an :mod:`engine.jobs` job."""
    return make_clips(request.audio_paths, request.label_paths, request.out_dir, padding_s=request.padding_s,
                      background=request.background, background_s=request.background_s, force=request.force,
                      on_progress=on_progress, cancel=cancel, groups=request.groups)
