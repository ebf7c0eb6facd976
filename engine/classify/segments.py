"""Window predictions merged into segments: per-class threshold, minimum duration, merge gap.

A window that starts at ``t`` covers ``t .. t + window_s``. For each class, windows whose
probability reaches the class's threshold are active; active windows that overlap, or
lie at most ``merge_gap_s`` apart, merge into one segment whose confidence is the highest
window probability in it. Segments shorter than ``min_duration_s`` are dropped.

:class:`SegmentMerger` does this incrementally (windows arrive in time order, in batches;
closed segments come out as soon as no later window can extend them), so a recording of
any length streams through it in bounded memory. :func:`merge_windows` is the batch form.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from engine.annotations.regions import PENDING, SUGGESTION, Region


@dataclass(frozen=True)
class SegmentParams:
    threshold: float = 0.5
    class_thresholds: Mapping[str, float] | None = None  # per class, overriding ``threshold``
    min_duration_s: float = 0.0
    merge_gap_s: float = 0.0
    skip_labels: tuple[str, ...] = ()  # classes never suggested (e.g. a background class)
    min_level_dbfs: float = -60.0  # quieter windows (RMS around their mean) are silence: never a segment

    def __post_init__(self) -> None:
        for name, value in {"threshold": self.threshold, **(self.class_thresholds or {})}.items():
            if not 0.0 <= value <= 1.0:  # NaN included
                raise ValueError(f"threshold for {name} must lie between 0 and 1, got {value}")
        if not (0 <= self.min_duration_s < math.inf and 0 <= self.merge_gap_s < math.inf):
            raise ValueError("min_duration_s and merge_gap_s must be finite and not negative")

    def under(self, model_thresholds) -> SegmentParams:
        """These parameters under a model's per-class thresholds (engine/models/thresholds.py): a class
        is active only where it reaches both the model's threshold and the one asked for here, so
        a class the model would not name at a moment makes no segment there."""
        if model_thresholds is None:
            return self
        asked = dict(self.class_thresholds or {})
        merged = {label: max(value, asked.get(label, self.threshold))
                  for label, value in model_thresholds.per_class.items()}
        return replace(self, class_thresholds={**asked, **merged})

    def thresholds(self, labels: Sequence[str]) -> np.ndarray:
        extra = dict(self.class_thresholds or {})
        unknown = sorted(set(extra) - set(labels))
        if unknown:
            raise ValueError(f"thresholds for unknown classes {', '.join(unknown)}; the model's: {', '.join(labels)}")
        # a threshold above 1 is never reached: skipped classes never make segments
        return np.array([2.0 if label in self.skip_labels else extra.get(label, self.threshold) for label in labels],
                        dtype=np.float64)


class SegmentMerger:
    """Feed ``push(starts_s, probs)`` in time order; collect closed segments; ``finish()`` at the end."""

    def __init__(self, labels: Sequence[str], window_s: float, params: SegmentParams | None = None) -> None:
        self.labels = list(labels)
        self.window_s = float(window_s)
        self.params = params or SegmentParams()
        self._thresholds = self.params.thresholds(self.labels)
        # per class: [start_s, end_s, best probability] of the open segment, or None
        self._open: list[list[float] | None] = [None] * len(self.labels)

    def push(self, starts_s: np.ndarray, probs: np.ndarray) -> list[Region]:
        starts_s = np.asarray(starts_s, dtype=np.float64)
        probs = np.asarray(probs, dtype=np.float64)
        if probs.shape != (len(starts_s), len(self.labels)):
            raise ValueError(f"expected probabilities [{len(starts_s)}, {len(self.labels)}], got {probs.shape}")
        closed: list[Region] = []
        active = probs >= self._thresholds
        for k in range(len(self.labels)):
            for i in np.flatnonzero(active[:, k]):
                self._extend(k, float(starts_s[i]), float(probs[i, k]), closed)
        if len(starts_s):  # segments no later window can reach
            horizon = float(starts_s[-1])
            for k, seg in enumerate(self._open):
                if seg is not None and seg[1] + self.params.merge_gap_s < horizon:
                    self._close(k, closed)
        return sorted(closed, key=lambda r: (r.start_s, r.label))

    def finish(self) -> list[Region]:
        closed: list[Region] = []
        for k in range(len(self.labels)):
            self._close(k, closed)
        return sorted(closed, key=lambda r: (r.start_s, r.label))

    def _extend(self, k: int, start_s: float, prob: float, closed: list[Region]) -> None:
        seg = self._open[k]
        end_s = start_s + self.window_s
        if seg is not None and start_s <= seg[1] + self.params.merge_gap_s:
            seg[1] = max(seg[1], end_s)
            seg[2] = max(seg[2], prob)
            return
        self._close(k, closed)
        self._open[k] = [start_s, end_s, prob]

    def _close(self, k: int, closed: list[Region]) -> None:
        seg, self._open[k] = self._open[k], None
        if seg is not None and seg[1] - seg[0] >= self.params.min_duration_s:
            closed.append(Region(seg[0], seg[1], self.labels[k], confidence=round(seg[2], 6),
                                 source=SUGGESTION, state=PENDING))


def merge_windows(starts_s, probs, labels: Sequence[str], window_s: float,
                  params: SegmentParams | None = None) -> list[Region]:
    merger = SegmentMerger(labels, window_s, params)
    return sorted(merger.push(starts_s, probs) + merger.finish(), key=lambda r: (r.start_s, r.label))


def clip_to(regions: list[Region], duration_s: float) -> list[Region]:
    """Segments end at the end of the recording (the last window may run past it)."""
    out = []
    for r in regions:
        end = min(r.end_s, duration_s)
        out.append(r if end == r.end_s else Region(r.start_s, max(end, r.start_s), r.label, confidence=r.confidence,
                                                  source=r.source, state=r.state, id=r.id))
    return out
