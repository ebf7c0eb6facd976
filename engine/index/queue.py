"""What to label next: the index's windows ranked by the model's uncertainty, spread out.

Uncertainty is read from the probabilities the index stored for every window:

- ``margin``: one minus the gap between the two most probable classes (1: a tie, 0: certain);
- ``entropy``: the entropy of the probabilities divided by its largest value, log(classes).

A plain ranking by uncertainty tends to list one confusing stretch of one recording over and
over. :func:`label_queue` spreads the list: classes (the model's answer for the window) take
turns, each offering its most uncertain window not yet taken; a recording gives at most
``per_recording`` windows (default: an even share of the list, at least one); and a window that
overlaps or touches one already listed in its recording is skipped (one place, one question).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from engine.index.search import Index

MEASURES = ("margin", "entropy")
CHUNK_ROWS = 65_536


@dataclass(frozen=True)
class QueueItem:
    row: int
    recording: str
    start_s: float
    end_s: float
    label: str              # the model's answer
    uncertainty: float      # in [0, 1], higher first


def uncertainty(probs: np.ndarray, measure: str = "margin") -> np.ndarray:
    """``[rows]`` uncertainty in [0, 1] of ``[rows, classes]`` probabilities (see the module docstring)."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, not {measure!r}")
    p = np.clip(np.asarray(probs, dtype=np.float32), 0.0, 1.0)
    if measure == "margin":
        top2 = np.partition(p, p.shape[1] - 2, axis=1)[:, -2:]
        return (1.0 - (top2[:, 1] - top2[:, 0])).astype(np.float32)
    logs = np.log(np.maximum(p, 1e-12))
    return (-(p * logs).sum(axis=1) / math.log(p.shape[1])).astype(np.float32)


def label_queue(index: Index, n: int = 50, *, measure: str = "margin", per_recording: int | None = None,
                skip_rows: Iterable[int] = ()) -> list[QueueItem]:
    """Up to ``n`` windows to label next (see the module docstring); ``skip_rows`` (already labelled)
    are never listed."""
    rows = len(index.recording_of_row)
    scores = np.empty(rows, dtype=np.float32)
    answers = np.empty(rows, dtype=np.int32)
    for first in range(0, rows, CHUNK_ROWS):
        chunk = np.asarray(index.probs[first:first + CHUNK_ROWS], dtype=np.float32)
        scores[first:first + len(chunk)] = uncertainty(chunk, measure)
        answers[first:first + len(chunk)] = chunk.argmax(axis=1)
    usable = index.recording_of_row >= 0
    usable[np.fromiter(skip_rows, dtype=np.int64)] = False
    cap = per_recording or max(1, math.ceil(n / max(len(index.recordings), 1)))
    by_class = []
    for label in range(len(index.labels)):
        mine = np.flatnonzero(usable & (answers == label))
        by_class.append(iter(mine[np.lexsort((mine, -scores[mine]))].tolist()))
    picked: list[QueueItem] = []
    per_rec: dict[int, list[float]] = {}
    while len(picked) < n and by_class:
        still = []
        for candidates in by_class:
            row = _next_free(index, candidates, per_rec, cap)
            if row is None:
                continue                       # this class has nothing left to offer
            still.append(candidates)
            recording = int(index.recording_of_row[row])
            per_rec.setdefault(recording, []).append(float(index.starts[row]))
            hit = index.hit(row, float(scores[row]))
            picked.append(QueueItem(row, hit.recording, hit.start_s, hit.end_s, hit.label, hit.similarity))
            if len(picked) == n:
                break
        by_class = still
    return picked


def _next_free(index: Index, candidates, per_rec: dict[int, list[float]], cap: int) -> int | None:
    for row in candidates:
        taken = per_rec.get(int(index.recording_of_row[row]), [])
        start = float(index.starts[row])
        if len(taken) < cap and all(abs(start - s) > index.window_s + 1e-9 for s in taken):
            return row
    return None
