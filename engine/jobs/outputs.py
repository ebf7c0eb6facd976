"""The one rule for every writer of output folders: nothing a person made is replaced or deleted.

An :class:`Outputs` hands out the paths one run writes into a folder. A path that already
holds a file is *claimed* only when Earmark wrote that file itself (an earlier run, recorded
in the folder's ledger ``.earmark-written.json`` with its size and modification time, and
unchanged since); otherwise the claim is refused with :class:`OutputExistsError` naming the
path, or, with ``force``, the file is first renamed to ``<name>.backup-<UTC time><suffix>``
beside it. Two inputs of one run that would write the same path get distinct names
(:meth:`Outputs.unique`). The files themselves are written atomically by the callers
(:mod:`engine.atomic`); :meth:`Outputs.written` records each one, and :meth:`Outputs.close`
saves the ledger (also after a failure or an interruption, so a rerun may replace what this
run wrote).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from engine.atomic import atomic_write_json, file_lock
from engine.errors import SaveError

LEDGER_NAME = ".earmark-written.json"


class OutputExistsError(SaveError):
    """An output path holds a file this program did not write; nothing was changed."""


class Outputs:
    """The paths one run writes under ``folder`` (use ``with``, or call :meth:`close`)."""

    def __init__(self, folder: str | os.PathLike, *, force: bool = False, flag: str = "--force") -> None:
        self.folder = Path(folder)
        self.force = force
        self.flag = flag
        self.claimed: set[Path] = set()
        self.backups: list[tuple[Path, Path]] = []
        self._ledger = _read_ledger(self.folder / LEDGER_NAME)
        self._dirty = False

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def unique(self, path: Path) -> Path:
        """``path``, or ``<stem>-2<suffix>``, ``-3``… when this run has claimed it already."""
        candidate, n = path, 1
        while candidate in self.claimed:
            n += 1
            candidate = path.with_name(f"{_stem(path)}-{n}{_suffix(path)}")
        return candidate

    def check(self, path: str | os.PathLike) -> Path:
        """Refuse ``path`` now (changing nothing) when :meth:`claim` would refuse it later."""
        path = Path(path)
        if path not in self.claimed and os.path.lexists(path) and not self._ours(path) and not self.force:
            self.claim(path)
        return path

    def claim(self, path: str | os.PathLike) -> Path:
        """Reserve ``path`` for this run; refuse (or, forced, back up) a file Earmark did not write."""
        path = Path(path)
        if path in self.claimed:
            return path
        if os.path.lexists(path) and not self._ours(path):
            if not self.force:
                raise OutputExistsError(
                    f"{path} exists and was not written by Earmark (or was changed since); nothing was "
                    f"written. Choose another output folder, move the file, or use {self.flag} to replace "
                    "it (the old file is kept beside it as a .backup)")
            if path.is_dir() and not path.is_symlink():
                raise OutputExistsError(f"{path} is a folder; Earmark writes a file there. Move the folder first")
            backup = _backup_name(path)
            try:
                os.replace(path, backup)
            except OSError as exc:
                raise SaveError(f"Cannot back up {path} before replacing it: {exc.strerror or exc}") from exc
            self.backups.append((path, backup))
        self.claimed.add(path)
        return path

    def written(self, path: str | os.PathLike) -> None:
        """``path`` was written by this run: a later run may replace it while it stays unchanged."""
        path = Path(path)
        try:
            st = path.stat()
        except OSError:
            return
        self._ledger[self._key(path)] = [st.st_size, st.st_mtime_ns]
        self._dirty = True

    def close(self) -> None:
        if not self._dirty:
            return
        ledger = self.folder / LEDGER_NAME
        with file_lock(ledger):
            merged = {**_read_ledger(ledger), **self._ledger}
            atomic_write_json(ledger, {"format": "earmark-written", "version": 1, "files": merged})
        self._dirty = False

    def _ours(self, path: Path) -> bool:
        entry = self._ledger.get(self._key(path))
        try:
            st = path.stat()
        except OSError:
            return False
        return path.is_file() and entry == [st.st_size, st.st_mtime_ns]

    def _key(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            return path.resolve().as_posix()


def free_name(path: str | os.PathLike) -> Path:
    """``path`` when nothing is there, else ``<stem>-2<suffix>``, ``-3``…: what a save dialog offers,
    so accepting its default never replaces a file (a person's ``rec.txt`` beside ``rec.wav``)."""
    path = Path(path)
    candidate, n = path, 1
    while os.path.lexists(candidate):
        n += 1
        candidate = path.with_name(f"{_stem(path)}-{n}{_suffix(path)}")
    return candidate


def _read_ledger(path: Path) -> dict[str, list[int]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}  # no ledger (or a damaged one): nothing counts as Earmark's, so nothing is replaced
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, dict):
        return {}
    return {k: v for k, v in files.items() if isinstance(k, str) and isinstance(v, list) and len(v) == 2
            and all(isinstance(x, int) for x in v)}


def _suffix(path: Path) -> str:
    """``.selections.txt`` counts as one suffix (Raven tables)."""
    return ".selections.txt" if path.name.endswith(".selections.txt") else path.suffix


def _stem(path: Path) -> str:
    return path.name[: len(path.name) - len(_suffix(path))]


def _backup_name(path: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    candidate, n = path.with_name(f"{_stem(path)}.backup-{stamp}{_suffix(path)}"), 1
    while os.path.lexists(candidate):
        n += 1
        candidate = path.with_name(f"{_stem(path)}.backup-{stamp}-{n}{_suffix(path)}")
    return candidate
