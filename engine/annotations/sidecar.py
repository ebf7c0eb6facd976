"""The files of a region track on disk: a snapshot and an append-only journal beside the audio.

``<audio>.earmark-regions.json`` (the snapshot) holds the regions and the history up to a
*generation*; ``<audio>.earmark-regions.journal`` holds one JSON change per line made since
(its first line names the generation it follows). An edit appends one line under the track's
lock (:func:`engine.atomic.file_lock`), after reading the lines other editors appended since
it last looked, so two windows, or the app and a script, on one recording lose nothing, and
an edit costs one short line whatever the number of regions. When the journal outgrows the
snapshot (or a large import lands) the track is *compacted*: a new snapshot of the next
generation is written atomically, then an empty journal. A crash between the two leaves a
journal of an older generation, whose lines are already in the snapshot and are ignored.

A line cut short by a crash (no newline at its end) is ignored and cut off before the next
append. Snapshots are streamed region by region, never built as one string.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.atomic import atomic_open, atomic_write_text, file_lock, json_default
from engine.errors import EarmarkError, SaveError

JOURNAL_SUFFIX = ".journal"
FORMAT_NAME = "earmark-regions"
FORMAT_VERSION = 2  # 2: generation + journal; version 1 files (no journal) read as generation 0
COMPACT_MIN_BYTES = 4 << 20  # the journal is folded into the snapshot past this and the snapshot's size
# The snapshot is written through a 256 KiB buffer, so a 157 MB snapshot (a million regions) reaches
# the file in about 600 writes, one every few milliseconds. With the default 8 KiB the writer thread
# released and retook the interpreter lock for a write() every 0.1-0.3 ms; a thread waiting for the
# lock only asks for it after a whole switch interval in which it never changed hands, so the GUI
# thread waited 0.3-0.6 s at a time while a big import was saved (found with faulthandler dumps of
# both threads at each stall; docs/RELIABILITY.md D10). 8 MiB did as well for the import (0.06-0.09 s)
# but made later GUI work in the same process slower (the audit tab's 400-clip stall test: 0.26-0.40 s
# against its 0.25 s limit, passing with 256 KiB), most likely through glibc raising its mmap threshold
# after freeing the big buffer.
SNAPSHOT_BUFFER_BYTES = 256 << 10
_GENERATION = re.compile(rb'"generation":\s*(\d+)')


class SidecarFileError(EarmarkError):
    """A snapshot or journal that cannot be read (the caller names the file and wraps it)."""


@dataclass
class Loaded:
    """What is on disk: the snapshot's regions and history (JSON), then the journal's changes (JSON)."""

    regions: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    journal: list[dict[str, Any]] = field(default_factory=list)
    generation: int = 0
    offset: int = 0  # bytes of the journal read


class SidecarStore:
    """Reads and appends the snapshot and journal of one track (call under :meth:`locked`)."""

    def __init__(self, snapshot: Path) -> None:
        self.snapshot = snapshot
        self.journal = snapshot.with_name(snapshot.name[: -len(".json")] + JOURNAL_SUFFIX)
        self.generation = 0
        self.offset = 0

    @contextlib.contextmanager
    def locked(self, *, reading: bool = False) -> Iterator[None]:
        """The track's lock; a reader in a folder it may not write reads without it."""
        try:
            with file_lock(self.snapshot):
                yield
        except SaveError:
            if not reading or os.access(self.snapshot.parent, os.W_OK):
                raise
            yield

    def exists(self) -> bool:
        return self.snapshot.exists() or self.journal.exists()

    # -- reading -----------------------------------------------------------------------------
    def load(self) -> Loaded:
        """Everything on disk (call under the lock)."""
        out = Loaded()
        if self.snapshot.exists():
            doc = _parse(self.snapshot.read_bytes(), self.snapshot)
            if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
                found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
                raise SidecarFileError(f"not an Earmark region file (format {found!r})")
            version = doc.get("version", 0)
            if not isinstance(version, int) or isinstance(version, bool):
                raise SidecarFileError(f"the version {version!r} is not a whole number")
            if version > FORMAT_VERSION:
                raise SidecarFileError(f"written by a newer Earmark (version {version})")
            out.regions, out.history = _list(doc, "regions"), _list(doc, "history")
            generation = doc.get("generation", 0)
            out.generation = generation if isinstance(generation, int) and generation >= 0 else 0
        self.generation = out.generation
        out.journal, self.offset = self._read_journal(out.generation, 0)
        out.offset = self.offset
        return out

    def changed_since(self) -> tuple[list[dict[str, Any]], bool]:
        """(changes other editors appended since this store last looked, whether to reload all)."""
        if self._snapshot_generation() != self.generation or self._journal_generation() not in (None, self.generation):
            return [], True
        changes, self.offset = self._read_journal(self.generation, self.offset)
        return changes, False

    def _read_journal(self, generation: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        if self._journal_generation() != generation:  # none yet, or stale: its lines are in the snapshot
            return [], 0
        with open(self.journal, "rb") as handle:
            if offset == 0:
                offset = len(handle.readline())
            handle.seek(offset)
            data = handle.read()
        end = data.rfind(b"\n") + 1  # a line without its newline was cut short by a crash
        changes = []
        for number, line in enumerate(data[:end].splitlines(), start=1):
            if line.strip():
                entry = _parse(line, self.journal)
                if not isinstance(entry, dict):
                    raise SidecarFileError(f"journal entry {number} after byte {offset} is not an object")
                changes.append(entry)
        return changes, offset + end

    def _journal_generation(self) -> int | None:
        try:
            with open(self.journal, "rb") as handle:
                head = handle.readline(256)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SidecarFileError(f"cannot read {self.journal.name} ({exc.strerror or exc})") from exc
        found = _GENERATION.search(head) if head.endswith(b"\n") else None
        return int(found.group(1)) if found else None

    def _snapshot_generation(self) -> int:
        try:
            with open(self.snapshot, "rb") as handle:
                head = handle.read(256)
        except FileNotFoundError:
            return 0
        found = _GENERATION.search(head)
        return int(found.group(1)) if found else 0

    # -- writing -----------------------------------------------------------------------------
    def append(self, change: dict[str, Any]) -> None:
        """Add one change to the journal (under the lock, after :meth:`changed_since`)."""
        line = (json.dumps(change, default=json_default, allow_nan=False) + "\n").encode("utf-8")
        try:
            if self._journal_generation() != self.generation:
                atomic_write_text(self.journal, _journal_head(self.generation))
                self.offset = len(_journal_head(self.generation).encode())
            fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0))
            try:
                size = os.fstat(fd).st_size
                if size > self.offset:  # the tail of a writer killed mid-line
                    os.ftruncate(fd, self.offset)
                written = os.write(fd, line)
                if written != len(line):
                    os.ftruncate(fd, self.offset)
                    raise OSError(28, "short write (the disk is full?)")
                os.fsync(fd)
            finally:
                os.close(fd)
        except SaveError:
            raise
        except OSError as exc:
            full = " (the disk is full)" if exc.errno == 28 else ""
            raise SaveError(f"Cannot write {self.journal}{full}: {exc.strerror or exc}") from exc
        self.offset += len(line)

    def should_compact(self) -> bool:
        try:
            snapshot = self.snapshot.stat().st_size if self.snapshot.exists() else 0
        except OSError:
            return False
        return self.offset > max(COMPACT_MIN_BYTES, snapshot)

    def compact(self, header: dict[str, Any], regions: Iterable[str], history: Iterable[Iterable[str]]) -> None:
        """``regions`` are JSON texts and ``history`` items the pieces of one, made as they are written."""
        # a new snapshot of the next generation, then an empty journal (under the lock)
        generation = self.generation + 1
        with atomic_open(self.snapshot, "w", encoding="utf-8", newline="", buffering=SNAPSHOT_BUFFER_BYTES) as handle:
            handle.write("{" + f'"generation": {generation}, ')
            for key, value in {**header, "version": FORMAT_VERSION, "format": FORMAT_NAME}.items():
                handle.write(f"{json.dumps(key)}: {json.dumps(value)}, ")
            _write_list(handle, "regions", regions)
            handle.write(", ")
            _write_list(handle, "history", history)
            handle.write("}\n")
        self.generation = generation
        atomic_write_text(self.journal, _journal_head(generation))
        self.offset = len(_journal_head(generation).encode())


def _journal_head(generation: int) -> str:
    return json.dumps({"format": FORMAT_NAME + "-journal", "generation": generation}) + "\n"


def _write_list(handle, key: str, items: Iterable[str | Iterable[str]]) -> None:
    """Each item a JSON text, or the pieces of one (written as they come)."""
    handle.write(f'"{key}": [')
    for i, item in enumerate(items):
        handle.write("\n" if i == 0 else ",\n")
        for piece in [item] if isinstance(item, str) else item:
            handle.write(piece)
    handle.write("\n]")


def dumps(obj: Any) -> str:
    """One JSON text as the sidecar writes it (no NaN, which other tools cannot read)."""
    return json.dumps(obj, default=json_default, allow_nan=False)


def _list(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise SidecarFileError(f"{key!r} must be a list of objects")
    return value


def _parse(data: bytes, path: Path) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except RecursionError:
        raise SidecarFileError("nested too deeply to be a region file") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise SidecarFileError(f"unreadable JSON in {path.name} ({exc})") from exc
