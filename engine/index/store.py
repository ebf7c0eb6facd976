"""The on-disk form of an index: append-only row files and a journal of finished recordings.

An index folder holds:

- ``index.json``: what made it (the folder, the model file and its SHA-256, labels, sample rate,
  window and hop, which embedding, its dimension), written once, atomically;
- ``vectors.f16``: one row per window, float16 ``[dim]``, L2-normalised (a cosine is a dot product);
- ``probs.f16``: the model's probabilities per window, float16 ``[n_labels]``;
- ``starts.f64``: each window's start in its recording, seconds (float64);
- ``journal.jsonl``: one JSON line per recording finished — ``path`` (relative to the folder,
  POSIX), ``size``, ``mtime_ns``, ``first_row``, ``n_rows``, ``duration_s`` — or ``error`` for a
  file that could not be read, or ``removed`` for one that is gone.

Rows are appended while a recording is read; its journal line is written (and fsynced) only
after its rows are, so a killed run leaves at most the rows of the recording in flight past the
journal's last row, and :meth:`IndexStore.open` cuts them off (and a torn last journal line).
A later line for the same path supersedes an earlier one: a changed recording's old rows stay
in the files but are dead (no live row refers to them); nothing is compacted yet.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.atomic import atomic_write_json
from engine.errors import EarmarkError

FORMAT = 1
META_FILE, JOURNAL_FILE, LOCK_FILE = "index.json", "journal.jsonl", ".lock"
VECTORS_FILE, PROBS_FILE, STARTS_FILE = "vectors.f16", "probs.f16", "starts.f64"


class IndexStoreError(EarmarkError):
    """An index folder cannot be used: unreadable, of another format, or made with other settings."""


@dataclass(frozen=True)
class Entry:
    """One journal line: a recording finished (rows ``first_row`` .. ``first_row + n_rows``)."""

    path: str
    size: int
    mtime_ns: int
    first_row: int = 0
    n_rows: int = 0
    duration_s: float = 0.0
    error: str | None = None
    removed: bool = False

    def same_file(self, size: int, mtime_ns: int) -> bool:
        return self.size == size and self.mtime_ns == mtime_ns


class IndexStore:
    """An index folder opened for reading and appending (one writer at a time)."""

    def __init__(self, root: Path, meta: dict[str, Any], entries: list[Entry], rows: int) -> None:
        self.root = root
        self.meta = meta
        self.entries = entries
        self.rows = rows                 # rows committed: the end of the journal's last recording
        self.dim = int(meta["dim"])
        self.n_labels = len(meta["labels"])
        self._pending = 0                # rows appended for the recording in flight
        self._lock = None                # the writer's lock file (create_or_open), released by close()

    # ---- opening -----------------------------------------------------------------------------
    @classmethod
    def create_or_open(cls, root: Path, meta: dict[str, Any]) -> IndexStore:
        """Open ``root`` made with ``meta``'s settings for writing, or start one there; a folder made
        with other settings, or that another run is writing, is refused (:class:`IndexStoreError`)."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        lock = _lock(root)                  # before anything is cut back or written
        try:
            if (root / META_FILE).exists():
                store = cls.open(root, writable=True)
                differ = [k for k in sorted(meta) if store.meta.get(k) != meta[k]]
                if differ:
                    raise IndexStoreError(f"{root}: this index was made with other settings ({', '.join(differ)}); "
                                          f"give another --out folder or delete this one")
            else:
                for name in (VECTORS_FILE, PROBS_FILE, STARTS_FILE, JOURNAL_FILE):
                    (root / name).write_bytes(b"")
                atomic_write_json(root / META_FILE, {**meta, "format": FORMAT})
                store = cls(root, {**meta, "format": FORMAT}, [], 0)
        except BaseException:
            if lock is not None:
                lock.close()
            raise
        store._lock = lock
        return store

    @classmethod
    def open(cls, root: str | os.PathLike, *, writable: bool = False) -> IndexStore:
        """Read an index folder; with ``writable``, cut off what a killed run left past the journal."""
        root = Path(root)
        try:
            meta = json.loads((root / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexStoreError(f"{root}: not an Earmark index (no readable {META_FILE}: {exc})") from exc
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise IndexStoreError(f"{root}: an index of another format ({meta.get('format')!r}, this Earmark reads {FORMAT})")
        entries, good_bytes = _read_journal(root / JOURNAL_FILE)
        rows = max((e.first_row + e.n_rows for e in entries), default=0)
        store = cls(root, meta, entries, rows)
        if writable:
            with open(root / JOURNAL_FILE, "r+b") as journal:
                journal.truncate(good_bytes)
            store.rollback()
        elif store._file_rows() < rows:
            raise IndexStoreError(f"{root}: the index's files are shorter than its journal says (damaged)")
        return store

    # ---- appending ---------------------------------------------------------------------------
    def close(self) -> None:
        """Release the writer's lock (closing the file releases the flock)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def append(self, starts_s: np.ndarray, vectors: np.ndarray, probs: np.ndarray) -> None:
        """Rows of the recording in flight (committed by :meth:`commit`)."""
        for name, array, dtype in ((VECTORS_FILE, vectors, np.float16), (PROBS_FILE, probs, np.float16),
                                   (STARTS_FILE, starts_s, np.float64)):
            with open(self.root / name, "ab") as handle:
                handle.write(np.ascontiguousarray(array, dtype=dtype).tobytes())
        self._pending += len(starts_s)

    def commit(self, entry: Entry) -> Entry:
        """Make the rows in flight durable, then journal ``entry`` for them (fsynced)."""
        entry = Entry(**{**entry.__dict__, "first_row": self.rows, "n_rows": self._pending})
        for name in (VECTORS_FILE, PROBS_FILE, STARTS_FILE):
            _fsync(self.root / name)
        line = json.dumps({k: v for k, v in entry.__dict__.items() if v is not None and v is not False}) + "\n"
        with open(self.root / JOURNAL_FILE, "ab") as journal:
            journal.write(line.encode("utf-8"))
            journal.flush()
            os.fsync(journal.fileno())
        self.rows += self._pending
        self._pending = 0
        self.entries.append(entry)
        return entry

    def rollback(self) -> None:
        """Drop the rows in flight (and whatever a killed run left after the last commit)."""
        for name, width in self._row_files():
            with open(self.root / name, "r+b") as handle:
                handle.truncate(self.rows * width)
        self._pending = 0

    # ---- reading -----------------------------------------------------------------------------
    def latest(self) -> dict[str, Entry]:
        """The last journal line per path (superseded lines dropped)."""
        return {e.path: e for e in self.entries}

    def live_entries(self) -> list[Entry]:
        """Recordings whose rows count: indexed, unchanged since, not removed."""
        return [e for e in self.latest().values() if not e.removed and e.error is None and e.n_rows]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Memory maps of (vectors ``[rows, dim]``, probs ``[rows, n_labels]``, starts ``[rows]``)."""
        if self.rows == 0:
            return (np.zeros((0, self.dim), np.float16), np.zeros((0, self.n_labels), np.float16),
                    np.zeros(0, np.float64))
        return (np.memmap(self.root / VECTORS_FILE, np.float16, "r", shape=(self.rows, self.dim)),
                np.memmap(self.root / PROBS_FILE, np.float16, "r", shape=(self.rows, self.n_labels)),
                np.memmap(self.root / STARTS_FILE, np.float64, "r", shape=(self.rows,)))

    def _row_files(self) -> list[tuple[str, int]]:
        return [(VECTORS_FILE, 2 * self.dim), (PROBS_FILE, 2 * self.n_labels), (STARTS_FILE, 8)]

    def _file_rows(self) -> int:
        return min((self.root / name).stat().st_size // width for name, width in self._row_files())


def _lock(root: Path):
    """The open lock file of the one writer of ``root`` (released when closed or the process ends,
    even killed), or None where the OS has no ``flock`` (Windows: nothing is locked)."""
    try:
        import fcntl
    except ImportError:
        return None
    handle = open(root / LOCK_FILE, "a+b")  # noqa: SIM115 - held until close()
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise IndexStoreError(f"{root}: another run is writing this index; wait for it or stop it") from None
    return handle


def _read_journal(path: Path) -> tuple[list[Entry], int]:
    """The journal's entries and the byte length of its complete, parseable lines."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IndexStoreError(f"{path}: cannot read the index journal ({exc.strerror or exc})") from exc
    entries, good = [], 0
    for line in data.split(b"\n")[:-1]:          # the text after the last newline is torn
        try:
            entries.append(Entry(**json.loads(line)))
        except (ValueError, TypeError):
            break                                   # a damaged line: it and what follows are redone
        good += len(line) + 1
    return entries, good


def _fsync(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())
