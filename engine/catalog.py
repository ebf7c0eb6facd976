"""The models the app can use: found in folders, each loaded or refused with the reason.

Qt-free state with plain callbacks (napari's "models emit, views listen"): views subscribe
with :meth:`ModelCatalog.subscribe` and never get called back for their own changes twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelLoadError
from engine.model import ModelMeta, OnnxClassifier, find_models


@dataclass
class ModelEntry:
    path: Path
    folder_kind: str                       # "shipped" | "user" | "added"
    classifier: OnnxClassifier | None = None
    error: str | None = None

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def usable(self) -> bool:
        return self.classifier is not None

    @property
    def meta(self) -> ModelMeta | None:
        return self.classifier.meta if self.classifier is not None else None


Listener = Callable[[object], None]


class ModelCatalog:
    """Models from ``folders`` (shipped first, then the user's), plus the current choice.

    Events: ``"entries"`` (the list changed; payload: the entries) and ``"current"``
    (the model in use changed; payload: the entry or None).
    """

    def __init__(self, folders: list[tuple[str, str | os.PathLike]], *, threads: int = 2,
                 loader: Callable[..., OnnxClassifier] | None = None) -> None:
        self.folders = [(kind, Path(folder)) for kind, folder in folders]
        self.entries: list[ModelEntry] = []
        self.current: ModelEntry | None = None
        self._threads = threads
        self._loader = loader or OnnxClassifier.load
        self._listeners: dict[str, list[Listener]] = {"entries": [], "current": []}

    def subscribe(self, event: str, callback: Listener) -> None:
        if event not in self._listeners:
            raise ValueError(f"unknown catalog event {event!r}; use one of {sorted(self._listeners)}")
        self._listeners[event].append(callback)

    def unsubscribe(self, event: str, callback: Listener) -> None:
        if callback in self._listeners.get(event, []):
            self._listeners[event].remove(callback)

    def _emit(self, event: str, payload: object) -> None:
        for callback in list(self._listeners[event]):
            callback(payload)

    def _load(self, path: Path, kind: str) -> ModelEntry:
        try:
            return ModelEntry(path, kind, classifier=self._loader(path, threads=self._threads))
        except ModelLoadError as exc:
            return ModelEntry(path, kind, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - any unreadable file is refused, not fatal
            return ModelEntry(path, kind, error=f"{path}: cannot be used ({type(exc).__name__}: {exc})")

    def refresh(self) -> list[ModelEntry]:
        """Look through the folders again; keep the current model when it is still there."""
        added = [e for e in self.entries if e.folder_kind == "added" and e.path.is_file()]
        entries = [self._load(path, kind) for kind, folder in self.folders for path in find_models([folder])]
        seen = {e.path.resolve() for e in entries}
        entries += [self._load(e.path, "added") for e in added if e.path.resolve() not in seen]
        self.entries = entries
        self._emit("entries", self.entries)
        previous = self.current.path if self.current is not None else None
        match = next((e for e in entries if e.path == previous and e.usable), None)
        if match is None:
            match = next((e for e in entries if e.usable), None)
        self._set_current(match, force=True)
        return self.entries

    def add_file(self, path: str | os.PathLike) -> ModelEntry:
        """Add one model file from anywhere; it is listed even when it cannot be used."""
        path = Path(path)
        existing = self.find(path)
        if existing is not None:
            return existing
        entry = self._load(path, "added")
        self.entries.append(entry)
        self._emit("entries", self.entries)
        return entry

    def find(self, path: str | os.PathLike) -> ModelEntry | None:
        target = Path(path).resolve()
        return next((e for e in self.entries if e.path.resolve() == target), None)

    def select(self, path: str | os.PathLike) -> ModelEntry:
        """Make the model at ``path`` current; raises ModelLoadError (with the reason) if unusable."""
        entry = self.find(path)
        if entry is None:
            entry = self.add_file(path)
        if not entry.usable:
            raise ModelLoadError(entry.error or f"{entry.path}: cannot be used")
        self._set_current(entry)
        return entry

    def _set_current(self, entry: ModelEntry | None, *, force: bool = False) -> None:
        if entry is self.current and not force:
            return
        changed = entry is not self.current
        self.current = entry
        if changed or force:
            self._emit("current", entry)

    @property
    def classifier(self) -> OnnxClassifier | None:
        return self.current.classifier if self.current is not None else None
