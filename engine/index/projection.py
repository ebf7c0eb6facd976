"""A map of an index: every live window placed in two dimensions by PCA, for the app's map view.

The two axes are the top two principal components of the index's vectors, found in bounded
memory whatever the index's size: one pass over the rows in chunks of :data:`CHUNK_ROWS`
accumulates the sum and the ``dim × dim`` cross-product (float64), ``numpy.linalg.eigh`` of the
covariance gives the axes, and a second chunked pass projects the rows. Memory is one chunk
(65,536 rows × 512 dims as float64 is 256 MiB at most) plus the ``rows × 2`` answer. Dead rows
(a changed recording's old windows) are left out. Each axis's sign is fixed (its largest
coefficient positive) so the same index always draws the same way round.

PCA keeps the broad layout only; t-SNE or UMAP would separate clusters better but need a
neighbour graph (see :mod:`engine.index.search` on approximate search) and are not built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.index.search import Index
from engine.jobs import CancelToken, Progress, ignore_progress

CHUNK_ROWS = 65_536


@dataclass(frozen=True)
class ProjectionRequest:
    root: Path                      # an index folder (engine.index.store)
    chunk_rows: int = CHUNK_ROWS


@dataclass
class Projection:
    """Per live row: where it is drawn and what colours it; ``rows`` maps back to the index."""

    xy: np.ndarray                  # [n, 2] float32
    rows: np.ndarray                # [n] int64: the index rows drawn
    answer: np.ndarray              # [n] int32: the model's answer (argmax of probs), into ``labels``
    recording: np.ndarray           # [n] int32: into ``recordings``
    starts: np.ndarray              # [n] float64: window starts, seconds
    labels: list[str] = field(default_factory=list)
    recordings: list[str] = field(default_factory=list)
    window_s: float = 0.0
    explained: tuple[float, float] = (0.0, 0.0)   # each axis's share of the total variance
    folder: Path | None = None      # the indexed folder: ``recordings`` are relative to it

    def __len__(self) -> int:
        return len(self.rows)

    def window_of(self, i: int) -> tuple[str, float, float]:
        """(recording, start s, end s) of drawn point ``i``."""
        start = float(self.starts[i])
        return self.recordings[int(self.recording[i])], start, start + self.window_s


def principal_axes(vectors: np.ndarray, live: np.ndarray | None = None, *, chunk_rows: int = CHUNK_ROWS,
                   cancel: CancelToken | None = None,
                   on_chunk: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean ``[dim]``, axes ``[dim, 2]``, variances ``[dim]`` descending) of the rows where ``live``
    (all rows when None), from a chunked covariance: memory is one chunk however many rows."""
    cancel = cancel or CancelToken()
    rows, dim = vectors.shape
    total, cross, count = np.zeros(dim), np.zeros((dim, dim)), 0
    for first in range(0, rows, chunk_rows):
        cancel.raise_if_cancelled("the map")
        part = np.asarray(vectors[first:first + chunk_rows], dtype=np.float64)
        if live is not None:
            part = part[live[first:first + chunk_rows]]
        total += part.sum(axis=0)
        cross += part.T @ part
        count += len(part)
        if on_chunk is not None:
            on_chunk(first + chunk_rows)
    if count == 0:
        return np.zeros(dim), np.eye(dim, 2), np.zeros(dim)
    mean = total / count
    covariance = (cross - count * np.outer(mean, mean)) / max(count - 1, 1)
    variances, vecs = np.linalg.eigh(covariance)            # ascending
    order = np.argsort(variances)[::-1]
    variances, vecs = np.maximum(variances[order], 0.0), vecs[:, order]
    axes = vecs[:, :2].copy()
    if axes.shape[1] < 2:                                    # a 1-dimensional index: the second axis is flat
        axes = np.concatenate([axes, np.zeros((dim, 2 - axes.shape[1]))], axis=1)
    for k in range(axes.shape[1]):
        if axes[np.argmax(np.abs(axes[:, k])), k] < 0:
            axes[:, k] = -axes[:, k]
    return mean, axes, variances


def projection_job(request: ProjectionRequest, *, on_progress: Callable[[Progress], None] = ignore_progress,
                   cancel: CancelToken | None = None) -> Projection:
    """Open the index at ``request.root`` and place its live rows on two PCA axes (module docstring)."""
    cancel = cancel or CancelToken()
    index = Index(request.root)
    live = index.recording_of_row >= 0
    n_rows, chunk = len(live), max(1, int(request.chunk_rows))
    passes = 2 * max(n_rows, 1)

    def report(stage: str, done: int, offset: int) -> None:
        done = min(done, n_rows)
        on_progress(Progress(stage, done, n_rows, f"{stage} {done:,} of {n_rows:,} windows",
                             fraction=(offset + done) / passes))

    mean, axes, variances = principal_axes(index.vectors, live, chunk_rows=chunk, cancel=cancel,
                                           on_chunk=lambda done: report("axes", done, 0))
    rows = np.flatnonzero(live)
    xy = np.zeros((len(rows), 2), np.float32)
    answer = np.zeros(len(rows), np.int32)
    at = 0
    for first in range(0, n_rows, chunk):
        cancel.raise_if_cancelled("the map")
        keep = live[first:first + chunk]
        part = np.asarray(index.vectors[first:first + chunk], dtype=np.float64)[keep]
        xy[at:at + len(part)] = (part - mean) @ axes
        answer[at:at + len(part)] = np.argmax(np.asarray(index.probs[first:first + chunk])[keep], axis=1)
        at += len(part)
        report("project", first + chunk, n_rows)
    share = variances / variances.sum() if variances.sum() > 0 else np.zeros_like(variances)
    explained = (float(share[0]) if len(share) else 0.0, float(share[1]) if len(share) > 1 else 0.0)
    return Projection(xy=xy, rows=rows.astype(np.int64), answer=answer,
                      recording=index.recording_of_row[rows].astype(np.int32),
                      starts=np.asarray(index.starts[rows], dtype=np.float64), labels=index.labels,
                      recordings=list(index.recordings), window_s=index.window_s, explained=explained,
                      folder=index.folder)
