"""Index a folder of recordings: every window embedded and scored once, resumably.

:func:`index_job` walks a folder tree (as ``classify`` walks it), streams each recording
from disk in blocks (:func:`engine.classify.recordings.stream_windows`: memory is one block
plus one batch of windows, whatever the file's length), runs the model on each batch of
windows — its probabilities and, in the same forward pass, its ``embedding`` output — and
appends the rows to the index (:mod:`engine.index.store`). The vectors (:func:`embed_windows`)
are, by default, the model's embedding joined with the same window's band profile
(``model+bands``: :func:`engine.models.embedding.join_parts`, computed from the windows the model
sees, so still one forward pass); ``model`` is the embedding alone. A model without an embedding
output gets the fallback, each window's log-mel band statistics
(:func:`engine.models.embedding.band_statistics`). Resuming an index keeps the kind it was made
with when the request says ``auto``.

Resuming is the default: a recording whose path, size and modification time match its
journal line is skipped; new and changed ones are indexed; ones gone are journalled as
removed. A killed run loses at most the recording in flight; a cancelled one drops it too.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.audio.long import LongAudio
from engine.classify.files import iter_audio_files
from engine.classify.recordings import stream_windows
from engine.errors import AudioLoadError, EarmarkError
from engine.index.store import META_FILE, Entry, IndexStore
from engine.jobs import CancelToken, JobWarning, Progress, ignore_progress
from engine.models.classifier import OnnxClassifier
from engine.models.embedding import band_profile, band_statistics, join_parts
from engine.userdirs import cache_dir

EMBEDDINGS = ("auto", "model+bands", "model", "bands")
KINDS = EMBEDDINGS[1:]         # what an index records
BATCH_WINDOWS = 32


@dataclass(frozen=True)
class IndexRequest:
    folder: Path
    model_path: Path
    out: Path | None = None        # None: a folder under the user cache named by folder, model and settings
    hop_s: float | None = None     # None: half the model's window
    embedding: str = "auto"        # "auto": model+bands when the model embeds, else bands (or the kind an
                                   # existing index at ``out`` was made with); "model+bands"; "model"; "bands"
    threads: int = 2


@dataclass
class IndexResult:
    out: Path
    recordings: int = 0            # audio files found
    skipped: int = 0               # already indexed and unchanged
    indexed: int = 0               # indexed by this run
    removed: int = 0               # journalled as gone
    windows_embedded: int = 0      # windows this run ran through the model
    rows: int = 0                  # live windows in the index after the run
    failed: list[tuple[str, str]] = field(default_factory=list)


def index_job(request: IndexRequest, *, on_progress: Callable[[Progress], None] = ignore_progress,
              cancel: CancelToken | None = None) -> IndexResult:
    """Index ``request.folder`` (see the module docstring); ``Cancelled`` keeps what was finished."""
    cancel = cancel or CancelToken()
    folder = Path(request.folder).resolve()
    if not folder.is_dir():
        raise EarmarkError(f"{folder}: not a folder of recordings")
    if request.embedding not in EMBEDDINGS:
        raise ValueError(f"embedding must be one of {', '.join(EMBEDDINGS)}, not {request.embedding!r}")
    model = OnnxClassifier.load(request.model_path, threads=request.threads, cancel=cancel)
    meta = index_settings(folder, model, request, existing_kind(request.out))
    store = IndexStore.create_or_open(Path(request.out) if request.out else default_out(folder, meta), meta)
    try:
        return _index_folder(store, model, folder, meta, on_progress, cancel)
    finally:
        store.close()


def _index_folder(store: IndexStore, model: OnnxClassifier, folder: Path, meta: dict,
                  on_progress: Callable[[Progress], None], cancel: CancelToken) -> IndexResult:
    result = IndexResult(out=store.root)
    files = [(p, p.relative_to(folder).as_posix()) for p in iter_audio_files([folder])]
    result.recordings = len(files)
    done = store.latest()
    for name in sorted(set(done) - {rel for _, rel in files}):
        if not done[name].removed:
            store.commit(Entry(path=name, size=0, mtime_ns=0, removed=True))
            result.removed += 1
    for step, (path, rel) in enumerate(files):
        cancel.raise_if_cancelled("indexing")
        stat = path.stat()
        previous = done.get(rel)
        if previous is not None and not previous.removed and previous.same_file(stat.st_size, stat.st_mtime_ns):
            result.skipped += 1
            continue
        on_progress(Progress("index", step, len(files), f"{rel}", fraction=step / max(len(files), 1)))
        entry = Entry(path=rel, size=stat.st_size, mtime_ns=stat.st_mtime_ns)
        try:
            duration_s = _index_recording(store, model, path, meta, cancel, result, on_progress, step, len(files))
        except AudioLoadError as exc:
            store.rollback()
            store.commit(Entry(**{**entry.__dict__, "error": str(exc)}))
            result.failed.append((rel, str(exc)))
            on_progress(Progress("index", step, len(files), rel, warnings=(JobWarning("skipped-recording", str(exc)),)))
            continue
        except BaseException:
            store.rollback()                        # the recording in flight is redone next time
            raise
        store.commit(Entry(**{**entry.__dict__, "duration_s": duration_s}))
        result.indexed += 1
    result.rows = sum(e.n_rows for e in store.live_entries())
    on_progress(Progress("index", len(files), len(files), "done", fraction=1.0))
    return result


def _index_recording(store: IndexStore, model: OnnxClassifier, path: Path, meta: dict, cancel: CancelToken,
                     result: IndexResult, on_progress, step: int, total: int) -> float:
    rate, n_samples = model.meta.sample_rate_hz, model.meta.n_samples
    last_report = time.monotonic()
    with LongAudio(path) as audio:
        for starts_s, windows in stream_windows(audio, rate, n_samples, meta["hop_s"], batch=BATCH_WINDOWS):
            cancel.raise_if_cancelled("indexing")
            probs, vectors = embed_windows(model, windows, rate, meta["embedding"])
            store.append(starts_s, vectors, probs)
            result.windows_embedded += len(windows)
            if time.monotonic() - last_report > 0.2:
                last_report = time.monotonic()
                done = float(starts_s[-1]) / max(audio.duration_s, 1e-9)
                on_progress(Progress("index", step, total, f"{path.name} {starts_s[-1]:.0f} s",
                                     fraction=(step + min(done, 1.0)) / max(total, 1)))
        return audio.duration_s


def embed_windows(model: OnnxClassifier, windows: np.ndarray, sample_rate_hz: int,
                  kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, unit vectors) of a batch of windows for an index of embedding ``kind``: one
    forward pass of the model, plus the band statistics or profile of the same windows."""
    if kind == "model+bands":
        probs, vectors = model.predict_and_embed(windows)
        return probs, join_parts(vectors, band_profile(windows, sample_rate_hz))
    if kind == "model":
        probs, vectors = model.predict_and_embed(windows)
    else:
        probs, vectors = model.predict(windows), band_statistics(windows, sample_rate_hz)
    return probs, normalise(vectors)


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero), so a dot product is a cosine."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def existing_kind(out: Path | None) -> str | None:
    """The embedding kind the index at ``out`` was made with, or None (no index there yet)."""
    try:
        kind = json.loads((Path(out) / META_FILE).read_text())["embedding"] if out else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return kind if kind in KINDS else None


def index_settings(folder: Path, model: OnnxClassifier, request: IndexRequest, existing: str | None = None) -> dict:
    """What an index is made with: a second run must match it to add to the same folder. ``auto``
    takes ``existing`` (the kind of the index being resumed) when given."""
    embedding = request.embedding
    if embedding == "auto":
        embedding = existing or ("model+bands" if model.embedding_dim is not None else "bands")
    if embedding in ("model", "model+bands") and model.embedding_dim is None:
        raise EarmarkError(f"{model.path}: {model.embedding_problem}; index with --embedding bands instead")
    silence = np.zeros((1, model.meta.n_samples), np.float32)
    dim = {"model": lambda: model.embedding_dim,
           "model+bands": lambda: model.embedding_dim + band_profile(silence, model.meta.sample_rate_hz).shape[1],
           "bands": lambda: band_statistics(silence, model.meta.sample_rate_hz).shape[1]}[embedding]()
    hop_s = request.hop_s if request.hop_s else model.meta.clip_s / 2
    return {"folder": str(folder), "model": str(Path(model.path).resolve()), "model_sha256": _sha256(model.path),
            "labels": list(model.labels), "sample_rate_hz": model.meta.sample_rate_hz,
            "window_s": model.meta.clip_s, "hop_s": float(hop_s), "embedding": embedding, "dim": int(dim)}


def default_out(folder: Path, meta: dict) -> Path:
    """``<user cache>/indexes/<folder name>-<hash of folder, model and settings>``."""
    key = "|".join(str(meta[k]) for k in ("folder", "model_sha256", "hop_s", "embedding"))
    return cache_dir("indexes") / f"{folder.name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
