"""One data set being audited: its manifest, its label edits, its ranking and the selected clip.

Qt-free state that the Audit tab's views observe (napari's "models emit, views listen").
Reading a data set is a job (:func:`open_dataset_job`, the ``engine.jobs`` contract: it
reads every clip's header, which takes seconds on a large data set), run off the GUI
thread; :meth:`DatasetSession.adopt` then makes its result the session's state.

Events (``subscribe(event, callback)`` returns an unsubscribe function):

- ``opened(session)`` — a data set was adopted (clips, labels, edits all new);
- ``edited(change)`` — a relabel, flag, undo or redo was saved (``engine.datasets.edits.Change``);
- ``ranked(result)`` — a ranking was set (``trainer.audit.rank.AuditResult``-shaped);
- ``selected(key)`` — the current clip changed (None: no clip).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from engine.datasets.csv_file import write_manifest_csv
from engine.datasets.edits import DOUBTFUL, LabelEdits
from engine.datasets.manifest import EMODB_EMOTIONS, Manifest, read_manifest
from engine.events import Emitter
from engine.jobs import CancelToken, JobWarning, Progress, ignore_progress

EVENTS = ("opened", "edited", "ranked", "selected")
Listener = Callable[[Any], None]


@dataclass(frozen=True)
class ClipInfo:
    key: str
    path: Path
    original_label: str
    group: str
    fold: int | None
    duration_s: float | None


@dataclass(frozen=True)
class Suspicion:
    rank: int
    probs: np.ndarray  # out-of-fold probabilities, in the session's label order
    is_issue: bool
    judged: bool = True  # False: no model heard the clip's class in training (one source recording)


@dataclass(frozen=True)
class OpenRequest:
    root: str | os.PathLike
    layout: str | None = None


@dataclass(frozen=True)
class OpenedDataset:
    base: Manifest                 # the original labels (read without edits)
    edits: LabelEdits
    clips: tuple[ClipInfo, ...]
    labels: tuple[str, ...]        # every label a clip may be given, in display order
    warnings: tuple[JobWarning, ...] = ()   # skipped files, a damaged edits file set aside, …


def open_dataset_job(request: OpenRequest, *, on_progress: Callable[[Progress], None] = ignore_progress,
                     cancel: CancelToken | None = None) -> OpenedDataset:
    """Read the data set, its saved edits and every clip's duration (``ManifestError`` on a bad one)."""
    cancel = cancel or CancelToken()
    on_progress(Progress("read", message=f"Reading {request.root}"))
    base = read_manifest(request.root, request.layout, use_edits=False)
    edits = LabelEdits.for_manifest(base)
    clips, total = [], len(base.clips)
    for i, clip in enumerate(base.clips):
        if i % 25 == 0:
            cancel.raise_if_cancelled("opening the data set")
            on_progress(Progress("durations", i, total, f"Reading clip {i + 1} of {total}", fraction=i / total))
        clips.append(ClipInfo(edits.key(clip.path), Path(clip.path), clip.label, clip.group, clip.fold,
                              duration_s(clip.path)))
    warnings = (*getattr(base, "warnings", ()), *getattr(edits, "warnings", ()))
    if warnings:
        on_progress(Progress("durations", total, total, "Opened with warnings", fraction=1.0, warnings=warnings))
    return OpenedDataset(base, edits, tuple(clips), tuple(_labels(base, edits, clips)), warnings)


def _labels(base: Manifest, edits: LabelEdits, clips: list[ClipInfo]) -> list[str]:
    known = set(EMODB_EMOTIONS.values()) if base.layout == "emodb" else set()  # relabel to any emotion
    extra = ({edits.label_of(c.key) for c in clips} | known) - set(base.labels) - {None}
    return sorted(set(base.labels) | extra) if known else list(base.labels) + sorted(extra)


def duration_s(path) -> float | None:
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError):
        return None
    return info.frames / info.samplerate if info.samplerate else None


def suspicion_from_result(result, labels: list[str] | tuple[str, ...]) -> dict[str, Suspicion]:
    """Per clip key: rank, out-of-fold probabilities in ``labels`` order, cleanlab's verdict."""
    ranks = result.rank_of()
    columns = [result.class_names.index(label) if label in result.class_names else None for label in labels]
    out = {}
    unjudged = getattr(result, "unjudged", None)
    for i, key in enumerate(result.keys):
        probs = np.array([result.pred_probs[i, c] if c is not None else 0.0 for c in columns])
        judged = unjudged is None or not bool(unjudged[i])
        out[key] = Suspicion(int(ranks[i]), probs, bool(result.is_issue[i]), judged)
    return out


class DatasetSession:
    """The audited data set. Edits raise ``EarmarkError`` (a save that failed was rolled back)."""

    def __init__(self) -> None:
        self.base: Manifest | None = None
        self.edits: LabelEdits | None = None
        self.clips: tuple[ClipInfo, ...] = ()
        self.labels: list[str] = []
        self.result = None
        self.suspicion: dict[str, Suspicion] = {}
        self.current_key: str | None = None
        self.model_path: str | None = None
        self.warnings: tuple[JobWarning, ...] = ()
        self._row_of: dict[str, int] = {}
        self._result_index: dict[str, int] = {}
        self._unsubscribe_edits: Callable[[], None] | None = None
        self._events = Emitter(EVENTS)

    # ---- events -------------------------------------------------------------------------------
    def subscribe(self, event: str, callback: Listener) -> Callable[[], None]:
        """``callback(payload)`` on every ``event`` (one of :data:`EVENTS`); returns the unsubscriber."""
        return self._events.subscribe(event, callback)

    # ---- opening ------------------------------------------------------------------------------
    def open(self, root, layout: str | None = None) -> None:
        """Read and adopt a data set in the calling thread (scripts, tests; the GUI runs the job)."""
        self.adopt(open_dataset_job(OpenRequest(root, layout)))

    def adopt(self, opened: OpenedDataset) -> None:
        self.close()
        self.base, self.edits, self.clips, self.labels = opened.base, opened.edits, opened.clips, list(opened.labels)
        self.warnings = opened.warnings
        self._row_of = {clip.key: i for i, clip in enumerate(self.clips)}
        self._unsubscribe_edits = opened.edits.subscribe(self._on_edits_changed)
        self._events.emit("opened", self)

    def close(self) -> None:
        if self._unsubscribe_edits is not None:
            self._unsubscribe_edits()
            self._unsubscribe_edits = None
        self.result, self.suspicion, self._result_index, self.current_key = None, {}, {}, None

    @property
    def is_open(self) -> bool:
        return self.base is not None

    # ---- per-clip state -----------------------------------------------------------------------
    def row_of(self, key: str) -> int | None:
        return self._row_of.get(key)

    def clip(self, key: str) -> ClipInfo | None:
        row = self._row_of.get(key)
        return None if row is None else self.clips[row]

    def label_of(self, key: str) -> str:
        clip = self.clip(key)
        label = self.edits.label_of(key) if self.edits else None
        return label or (clip.original_label if clip else "")

    def flags_of(self, key: str) -> tuple[str, ...]:
        return self.edits.flags_of(key) if self.edits else ()

    def predicted(self, key: str) -> tuple[str, float, float] | None:
        """(predicted label, its probability, probability of the current label) or None."""
        s = self.suspicion.get(key)
        if s is None:
            return None
        best = int(np.argmax(s.probs))
        label = self.label_of(key)
        own = float(s.probs[self.labels.index(label)]) if label in self.labels else 0.0
        return self.labels[best], float(s.probs[best]), own

    def result_index(self, key: str) -> int | None:
        return self._result_index.get(key)

    def class_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.labels, 0)
        for clip in self.clips:
            label = self.label_of(clip.key)
            counts[label] = counts.get(label, 0) + 1
        return counts

    def current_manifest(self) -> Manifest | None:
        """The data set as edited (new labels, flags)."""
        if self.base is None or self.edits is None:
            return None
        clips = self.edits.apply(self.base.clips)
        present = {c.label for c in clips}
        labels = [label for label in self.labels if label in present]
        labels += sorted(present - set(labels))
        return Manifest(self.base.root, self.base.layout, clips, labels)

    # ---- selection ----------------------------------------------------------------------------
    def select(self, key: str | None) -> None:
        if key is not None and key not in self._row_of:
            key = None
        if key != self.current_key:
            self.current_key = key
            self._events.emit("selected", key)

    # ---- edits (of the current clip unless ``key`` is given) ---------------------------------------
    def relabel(self, label: str, key: str | None = None):
        key = key or self.current_key
        return None if key is None or self.edits is None else self.edits.relabel(key, label)

    def toggle_flag(self, flag: str = DOUBTFUL, key: str | None = None):
        key = key or self.current_key
        return None if key is None or self.edits is None else self.edits.toggle_flag(key, flag)

    def undo(self):
        return None if self.edits is None else self.edits.undo()

    def redo(self):
        return None if self.edits is None else self.edits.redo()

    @property
    def can_undo(self) -> bool:
        return bool(self.edits and self.edits.can_undo)

    @property
    def can_redo(self) -> bool:
        return bool(self.edits and self.edits.can_redo)

    def _on_edits_changed(self, change) -> None:
        self._events.emit("edited", change)

    # ---- ranking ------------------------------------------------------------------------------
    def set_ranking(self, result) -> None:
        self.result = result
        self._result_index = {key: i for i, key in enumerate(result.keys)}
        self.suspicion = suspicion_from_result(result, self.labels)
        self._events.emit("ranked", result)

    def export_csv(self, path) -> Path:
        manifest = self.current_manifest()
        if manifest is None:
            raise ValueError("no data set is open")
        return write_manifest_csv(manifest, path)
