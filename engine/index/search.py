"""More like this: the windows of an index nearest to a few examples, by cosine similarity.

The index stores unit-length float16 vectors, so a cosine is a dot product and a query is one
matrix product over the whole index, run in chunks of :data:`CHUNK_ROWS` rows (each chunk made
float32, multiplied, and its best candidates kept), so memory stays bounded (a chunk of 65,536
rows × 512 dims is 128 MiB of float32 at most) however large the index.

Several examples combine by the **mean** of their similarities (one product with their mean
vector: the same numbers) or by the **max** (a window near any one of them). ``standardise``
z-scores every dimension over the index first (pooled ReLU features are all positive, so raw
cosines are all high; docs/INDEX.md measures the gain). Hits are distinct
by default: a window overlapping or touching a better hit in the same recording is left out, so the top 20
are 20 places, not one event seen by three overlapping windows.

How far exact search goes (docs/INDEX.md, ``bench/bench_similar.py``): one query over 192-dim
float16 vectors took 0.18 s at 100,000 windows and 1.6 s at 1,000,000 (about 29 days of audio at a
2.5 s hop) on the shared 2-core machine under a load average of 5-8; the time grows linearly with
rows × dims and is mostly numpy's float16-to-float32 conversion. Up to about a million windows an
exact product is fine for a person asking; past a few million, or for many queries at once (a
map's neighbour graph), an approximate index (IVF or HNSW, e.g. FAISS or hnswlib) or float32
vectors held in memory would be needed; none is used or required here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.index.build import embed_windows, normalise
from engine.index.store import IndexStore, IndexStoreError

CHUNK_ROWS = 65_536
CANDIDATES_PER_HIT = 8
COMBINE = ("mean", "max")


@dataclass(frozen=True)
class Hit:
    recording: str          # relative to the indexed folder (POSIX)
    start_s: float
    end_s: float
    similarity: float
    label: str              # the model's answer for the window (its most probable class)
    row: int


class Index:
    """An index folder opened read-only: its rows as memory maps and which recording owns each."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.store = IndexStore.open(root)
        self.meta = self.store.meta
        self.vectors, self.probs, self.starts = self.store.arrays()
        self.recording_of_row = np.full(self.store.rows, -1, dtype=np.int32)   # -1: a dead row
        self.recordings: list[str] = []
        self._ranges: dict[str, tuple[int, int]] = {}
        for entry in self.store.live_entries():
            self.recording_of_row[entry.first_row:entry.first_row + entry.n_rows] = len(self.recordings)
            self.recordings.append(entry.path)
            self._ranges[entry.path] = (entry.first_row, entry.first_row + entry.n_rows)

    @property
    def folder(self) -> Path:
        return Path(self.meta["folder"])

    @property
    def window_s(self) -> float:
        return float(self.meta["window_s"])

    @property
    def labels(self) -> list[str]:
        return list(self.meta["labels"])

    def __len__(self) -> int:
        return int((self.recording_of_row >= 0).sum())

    def recording_name(self, path: str | os.PathLike) -> str | None:
        """``path`` as the index names it (relative to its folder), or None when not indexed."""
        path = Path(path)
        candidates = [path.as_posix()]
        if path.is_absolute() or path.exists():
            try:
                candidates.append(path.resolve().relative_to(self.folder).as_posix())
            except ValueError:
                pass
        return next((c for c in candidates if c in self._ranges), None)

    def rows_in(self, recording: str, start_s: float, end_s: float) -> np.ndarray:
        """Rows of ``recording`` whose windows cover at least half of ``[start_s, end_s]`` (or half a
        window of it); the best-covering row when none does."""
        first, last = self._ranges[recording]
        starts = np.asarray(self.starts[first:last])
        overlap = np.minimum(starts + self.window_s, end_s) - np.maximum(starts, start_s)
        need = 0.5 * min(self.window_s, max(end_s - start_s, 1e-9))
        rows = np.flatnonzero(overlap >= need - 1e-9)
        return first + (rows if len(rows) else np.array([int(np.argmax(overlap))]))

    def rows_overlapping(self, recording: str, start_s: float, end_s: float) -> np.ndarray:
        """Rows of ``recording`` whose windows overlap ``[start_s, end_s]`` at all."""
        first, last = self._ranges[recording]
        starts = np.asarray(self.starts[first:last])
        return first + np.flatnonzero((starts < end_s) & (starts + self.window_s > start_s))

    def hit(self, row: int, similarity: float) -> Hit:
        start = float(self.starts[row])
        label = self.labels[int(np.argmax(self.probs[row]))]
        return Hit(self.recordings[self.recording_of_row[row]], start, start + self.window_s,
                   float(similarity), label, int(row))


def example_vectors(index: Index, examples: list[tuple[str, float, float]]) -> np.ndarray:
    """Unit vectors ``[k, dim]``, one per example (recording, start s, end s): the mean of its
    windows (:func:`example_windows`)."""
    return normalise(np.stack([windows.mean(axis=0) for windows in example_windows(index, examples)]))


def example_windows(index: Index, examples: list[tuple[str, float, float]]) -> list[np.ndarray]:
    """Each example's unit window vectors ``[n, dim]``: for a recording of the index, its rows
    covering the range; for any other audio file, the range embedded now by the index's model, as
    the index embeds (:func:`region_windows`)."""
    out, model = [], None
    for path, start_s, end_s in examples:
        name = index.recording_name(path)
        if name is not None:
            out.append(np.asarray(index.vectors[index.rows_in(name, start_s, end_s)], dtype=np.float32))
            continue
        if not Path(path).is_file():
            raise IndexStoreError(f"{path}: not a recording of the index of {index.folder}, nor an audio file")
        if model is None:
            from engine.models.classifier import OnnxClassifier

            model = OnnxClassifier.load(index.meta["model"])
        out.append(region_windows(index, model, Path(path), start_s, end_s))
    return out


def region_windows(index: Index, model, path: Path, start_s: float, end_s: float) -> np.ndarray:
    """The unit embeddings ``[n, dim]`` of the windows (the index's window and hop) covering a range
    of a file; a range shorter than a window gets the one window centred on it."""
    from engine.audio.io import fit_length, resample, window_starts
    from engine.audio.long import LongAudio

    rate, n = model.meta.sample_rate_hz, model.meta.n_samples
    if end_s - start_s < index.window_s:
        middle = (start_s + end_s) / 2
        start_s, end_s = max(0.0, middle - index.window_s / 2), max(0.0, middle - index.window_s / 2) + index.window_s
    with LongAudio(path) as audio:
        samples = audio.read(start_s, end_s)
        if audio.sample_rate_hz != rate:
            samples = resample(samples, audio.sample_rate_hz, rate)
    windows = np.stack([fit_length(samples[s:s + n], n)
                        for s in window_starts(len(samples), n, int(round(index.meta["hop_s"] * rate)))])
    return embed_windows(model, windows, rate, index.meta["embedding"])[1].astype(np.float32)


def standardisation(index: Index, chunk_rows: int = CHUNK_ROWS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean ``[dim]``, deviation ``[dim]``, norms ``[rows]`` of the z-scored rows) over the index's
    live rows: two chunked passes, cached on the :class:`Index`."""
    cached = getattr(index, "_standardisation", None)
    if cached is not None:
        return cached
    live = index.recording_of_row >= 0
    total, squares = np.zeros(index.vectors.shape[1]), np.zeros(index.vectors.shape[1])
    for first in range(0, len(live), chunk_rows):
        part = np.asarray(index.vectors[first:first + chunk_rows], dtype=np.float64)[live[first:first + chunk_rows]]
        total += part.sum(axis=0)
        squares += (part * part).sum(axis=0)
    count = max(int(live.sum()), 1)
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean * mean, 0.0)) + 1e-6
    norms = np.ones(len(live), dtype=np.float32)
    for first in range(0, len(live), chunk_rows):
        part = (np.asarray(index.vectors[first:first + chunk_rows], dtype=np.float32) - mean) / std
        norms[first:first + len(part)] = np.maximum(np.linalg.norm(part, axis=1), 1e-12)
    index._standardisation = (mean.astype(np.float32), std.astype(np.float32), norms)
    return index._standardisation


def similar(index: Index, queries: np.ndarray, *, top: int = 20, combine: str = "mean",
            exclude: list[tuple[str, float, float]] = (), distinct: bool = True, standardise: bool = False,
            chunk_rows: int = CHUNK_ROWS) -> list[Hit]:
    """The ``top`` windows most similar to ``queries`` ``[k, dim]`` (see the module docstring);
    windows overlapping an ``exclude`` range (recording, start s, end s) are left out. With
    ``standardise`` the cosine is taken between vectors z-scored per dimension over the index
    (still one product: ``(x - m) / s . w = x . (w / s) - m . (w / s)``, divided by each row's norm)."""
    if combine not in COMBINE:
        raise ValueError(f"combine must be one of {', '.join(COMBINE)}, not {combine!r}")
    queries = normalise(np.atleast_2d(queries))
    if queries.shape[1] != index.vectors.shape[1]:
        raise ValueError(f"queries have {queries.shape[1]} dims, the index {index.vectors.shape[1]}")
    offset, norms = 0.0, None
    if standardise:
        mean, std, norms = standardisation(index, chunk_rows)
        queries = normalise((queries - mean) / std)
    weights = queries.mean(axis=0, keepdims=True).T if combine == "mean" else queries.T   # [dim, 1 or k]
    if standardise:
        weights = weights / std[:, None]
        offset = mean @ weights
    blocked = np.zeros(len(index.recording_of_row), dtype=bool)
    for path, start_s, end_s in exclude:
        name = index.recording_name(path)
        if name is not None:
            blocked[index.rows_overlapping(name, start_s, end_s)] = True
    keep = max(1, top * CANDIDATES_PER_HIT)
    cand_rows, cand_sims = [], []
    buffer = np.empty((min(chunk_rows, len(blocked)), queries.shape[1]), dtype=np.float32)
    for first in range(0, len(blocked), chunk_rows):
        part = buffer[:min(chunk_rows, len(blocked) - first)]
        np.copyto(part, index.vectors[first:first + chunk_rows])    # float16 -> float32: most of the time
        sims = part @ weights - offset
        if norms is not None:
            sims /= norms[first:first + len(part), None]
        sims = sims[:, 0] if combine == "mean" else sims.max(axis=1)
        sims[(index.recording_of_row[first:first + chunk_rows] < 0) | blocked[first:first + chunk_rows]] = -np.inf
        best = np.argpartition(-sims, keep - 1)[:keep] if len(sims) > keep else np.arange(len(sims))
        best = best[np.isfinite(sims[best])]
        cand_rows.append(first + best)
        cand_sims.append(sims[best])
    if not cand_rows:
        return []
    rows, sims = np.concatenate(cand_rows), np.concatenate(cand_sims)
    order = np.lexsort((rows, -sims))
    return _pick(index, rows[order], sims[order], top, distinct)


def _pick(index: Index, rows: np.ndarray, sims: np.ndarray, top: int, distinct: bool) -> list[Hit]:
    hits: list[Hit] = []
    taken: dict[int, list[float]] = {}
    for row, sim in zip(rows.tolist(), sims.tolist(), strict=True):
        recording, start = int(index.recording_of_row[row]), float(index.starts[row])
        if distinct and any(abs(start - s) <= index.window_s + 1e-9 for s in taken.get(recording, ())):
            continue
        taken.setdefault(recording, []).append(start)
        hits.append(index.hit(row, sim))
        if len(hits) == top:
            break
    return hits
