"""The models the app can use: found in folders, each vetted and loaded or refused with the reason.

Qt-free state with plain callbacks (napari's "models emit, views listen"): views subscribe
with :meth:`ModelCatalog.subscribe`. A model file is untrusted (see :mod:`engine.models.vet`), so
probing can take up to its time budget per file. Without a dispatcher :meth:`refresh`
probes in the calling thread (the command line, scripts). With one
(:meth:`set_dispatcher`, installed by the app's models panel) it lists the files at once as
*pending* entries and probes them in a background thread; each result is handed to the
dispatcher, which runs it on the owner's thread, so every event is emitted there and
entries resolve one by one while the window keeps repainting.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelLoadError
from engine.events import Emitter
from engine.jobs import Cancelled, CancelToken
from engine.models.classifier import OnnxClassifier
from engine.models.metadata import ModelMeta

log = logging.getLogger(__name__)


def find_models(folders: list[str | os.PathLike]) -> list[Path]:
    """The ``.onnx`` files directly inside ``folders``, each folder's sorted by name."""
    found: list[Path] = []
    for folder in folders:
        folder = Path(folder)
        if folder.is_dir():
            found.extend(sorted(p for p in folder.glob("*.onnx") if p.is_file()))
    return found


@dataclass(eq=False)
class ModelEntry:
    path: Path
    folder_kind: str                       # "shipped" | "user" | "added"
    classifier: OnnxClassifier | None = None
    error: str | None = None
    pending: bool = False                  # listed, still being vetted

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
Dispatch = Callable[[Callable[[], None]], None]


class ModelCatalog:
    """Models from ``folders`` (shipped first, then the user's), plus the current choice.

    Events: ``"entries"`` (the list or an entry's state changed; payload: the entries) and
    ``"current"`` (the model in use changed; payload: the entry or None).
    """

    def __init__(self, folders: list[tuple[str, str | os.PathLike]], *, threads: int = 2,
                 loader: Callable[..., OnnxClassifier] | None = None, limits=None) -> None:
        self.folders = [(kind, Path(folder)) for kind, folder in folders]
        self.entries: list[ModelEntry] = []
        self.current: ModelEntry | None = None
        self._threads = threads
        self._loader = loader
        self._limits = limits
        self._events = Emitter(("entries", "current"))
        self._dispatch: Dispatch | None = None
        self._generation = 0
        self._prefer: Path | None = None
        self._decided = True
        self._cancel = CancelToken()
        self._workers: list[threading.Thread] = []

    # ---- events ---------------------------------------------------------------------------
    def subscribe(self, event: str, callback: Listener) -> Callable[[], None]:
        """``callback(payload)`` on every ``entries`` or ``current`` event; returns the unsubscriber."""
        return self._events.subscribe(event, callback)

    def unsubscribe(self, event: str, callback: Listener) -> None:
        self._events.unsubscribe(event, callback)

    def set_dispatcher(self, dispatch: Dispatch | None) -> None:
        """From now on probe in the background and run results through ``dispatch(fn)``,
        which must call ``fn()`` on the thread that owns this catalog (None: probe inline)."""
        self._dispatch = dispatch

    # ---- loading -----------------------------------------------------------------------------
    def _load(self, path: Path, kind: str, cancel: CancelToken | None = None) -> ModelEntry:
        entry = ModelEntry(path, kind)
        self._resolve(entry, self._probe(path, cancel))
        return entry

    def _probe(self, path: Path, cancel: CancelToken | None) -> OnnxClassifier | str:
        """The classifier, or the reason it cannot be used (raises Cancelled)."""
        try:
            if self._loader is not None:
                return self._loader(path, threads=self._threads)
            return OnnxClassifier.load(path, threads=self._threads, limits=self._limits, cancel=cancel)
        except ModelLoadError as exc:
            return str(exc)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - any unreadable file is refused, not fatal
            return f"{path}: cannot be used ({type(exc).__name__}: {exc})"

    @staticmethod
    def _resolve(entry: ModelEntry, result: OnnxClassifier | str) -> None:
        entry.pending = False
        if isinstance(result, str):
            entry.classifier, entry.error = None, result
        else:
            entry.classifier, entry.error = result, None

    @property
    def settled(self) -> bool:
        """True when no entry is still being vetted."""
        return not any(e.pending for e in self.entries)

    def refresh(self, *, prefer: str | os.PathLike | None = None) -> list[ModelEntry]:
        """Look through the folders again. The current model stays current when it is still
        there; else ``prefer`` (a saved choice) once it proves usable; else the first usable."""
        self._cancel.cancel()
        self._cancel = cancel = CancelToken()
        self._generation += 1
        generation = self._generation
        previous = self.current.path if self.current is not None else None
        self._prefer = Path(prefer) if prefer else previous
        self._decided = False
        added = [e for e in self.entries if e.folder_kind == "added" and e.path.is_file()]
        listed = [(path, kind) for kind, folder in self.folders for path in find_models([folder])]
        seen = {p.resolve() for p, _ in listed}
        listed += [(e.path, "added") for e in added if e.path.resolve() not in seen]
        self.entries = [ModelEntry(path, kind, pending=True) for path, kind in listed]
        if self._dispatch is None:
            for entry in self.entries:
                self._resolve(entry, self._probe(entry.path, None))
            self._events.emit("entries", self.entries)
            self._choose_current()
            return self.entries
        self._events.emit("entries", self.entries)
        self._choose_current()  # an empty folder decides at once
        worker = threading.Thread(target=self._probe_all, args=(generation, list(self.entries), cancel),
                                  name="earmark-model-catalog", daemon=True)
        self._workers = [w for w in self._workers if w.is_alive()] + [worker]
        worker.start()
        return self.entries

    def _probe_all(self, generation: int, entries: list[ModelEntry], cancel: CancelToken) -> None:
        """Background thread: vet each entry, hand each result to the owner's thread."""
        for entry in entries:
            if cancel.is_set():
                return
            try:
                result = self._probe(entry.path, cancel)
            except Cancelled:
                return
            self._post(lambda entry=entry, result=result: self._apply(generation, entry, result))

    def _post(self, fn: Callable[[], None]) -> None:
        dispatch = self._dispatch
        if dispatch is None:
            return
        try:
            dispatch(fn)
        except RuntimeError:  # the owner (a window) is gone; nobody is listening any more
            log.debug("model catalog result dropped: its owner is gone")

    def _apply(self, generation: int, entry: ModelEntry, result: OnnxClassifier | str) -> None:
        """On the owner's thread: record one probe result and tell the views."""
        if generation != self._generation or not entry.pending or entry not in self.entries:
            return
        self._resolve(entry, result)
        self._events.emit("entries", self.entries)
        self._choose_current()

    def _choose_current(self) -> None:
        """Decide the current model once per refresh, as soon as the answer is known."""
        if self._decided:
            return
        preferred = next((e for e in self.entries if self._prefer is not None
                          and _same(e.path, self._prefer)), None)
        if preferred is not None and preferred.pending:
            return
        if preferred is not None and preferred.usable:
            match = preferred
        else:
            match = None
            for entry in self.entries:
                if entry.pending:
                    return  # an earlier entry may still prove usable
                if entry.usable:
                    match = entry
                    break
        self._decided = True
        self._set_current(match, force=True)

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop probing (a running sandbox is killed) and join the background thread."""
        self._cancel.cancel()
        self._generation += 1
        for worker in self._workers:
            worker.join(timeout_s)
        self._workers = [w for w in self._workers if w.is_alive()]

    # ---- choosing ------------------------------------------------------------------------------
    def add_file(self, path: str | os.PathLike, *, background: bool = False, select: bool = False) -> ModelEntry:
        """Add one model file from anywhere; it is listed even when it cannot be used.

        ``background`` (with a dispatcher): list it as pending and vet it in a thread; with
        ``select`` it becomes current once it proves usable (a file chosen in a dialog)."""
        path = Path(path)
        existing = self.find(path)
        if existing is not None:
            return existing
        if not (background and self._dispatch is not None):
            entry = self._load(path, "added")
            self.entries.append(entry)
            self._events.emit("entries", self.entries)
            return entry
        entry = ModelEntry(path, "added", pending=True)
        self.entries.append(entry)
        self._events.emit("entries", self.entries)
        generation, cancel = self._generation, self._cancel

        def work() -> None:
            try:
                result = self._probe(path, cancel)
            except Cancelled:
                return
            self._post(lambda: self._apply_added(generation, entry, result, select))

        worker = threading.Thread(target=work, name="earmark-model-add", daemon=True)
        self._workers = [w for w in self._workers if w.is_alive()] + [worker]
        worker.start()
        return entry

    def _apply_added(self, generation: int, entry: ModelEntry, result, select: bool) -> None:
        self._apply(generation, entry, result)
        if select and entry.usable and entry in self.entries:
            self._decided = True
            self._set_current(entry)

    def remove(self, path: str | os.PathLike) -> None:
        """Forget an entry (a broken file the person removed from the list). A file in a
        model folder comes back at the next refresh unless it was deleted or moved."""
        entry = self.find(path)
        if entry is None:
            return
        self.entries.remove(entry)
        self._events.emit("entries", self.entries)
        if entry is self.current:
            self._set_current(next((e for e in self.entries if e.usable), None))

    def find(self, path: str | os.PathLike) -> ModelEntry | None:
        return next((e for e in self.entries if _same(e.path, Path(path))), None)

    def select(self, path: str | os.PathLike) -> ModelEntry:
        """Make the model at ``path`` current; raises ModelLoadError (with the reason) if unusable."""
        entry = self.find(path)
        if entry is None:
            entry = self.add_file(path)
        if entry.pending:  # chosen before the background got to it: vet it now
            self._resolve(entry, self._probe(entry.path, None))
            self._events.emit("entries", self.entries)
        if not entry.usable:
            raise ModelLoadError(entry.error or f"{entry.path}: cannot be used")
        self._decided = True
        self._set_current(entry)
        return entry

    def _set_current(self, entry: ModelEntry | None, *, force: bool = False) -> None:
        if entry is self.current and not force:
            return
        self.current = entry
        self._events.emit("current", entry)

    @property
    def classifier(self) -> OnnxClassifier | None:
        return self.current.classifier if self.current is not None else None


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b
