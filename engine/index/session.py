"""The state of the Label window: a list of an index's windows to label (the hits of "more like
this", or a page of the queue), which one is current, and what each was labelled.

Qt-free (views observe it through :class:`engine.events.Emitter`). Labels are written by one
writer thread of the session's own, in the order they were given (a relabel never overtakes the
label it replaces), through :func:`engine.index.labelling.label_window`, so no sidecar is written
on the thread that asked. Events:

- ``items``: a new list (payload: the list);
- ``current``: the current item moved (payload: its position or None);
- ``labelled``: an item was given a label (payload: its position), before it is saved;
- ``saved``: a label reached the sidecar (payload: (position, Region)), from the writer thread;
- ``failed``: a label could not be saved (payload: (position, message)), from the writer thread.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from engine.annotations.regions import RegionTrack
from engine.errors import EarmarkError
from engine.events import Emitter
from engine.index.fewshot import fit_examples
from engine.index.labelling import BACKGROUND, label_window, labelled_rows
from engine.index.queue import label_queue
from engine.index.search import Index, similar

HITS, QUEUE = "hits", "queue"


@dataclass(frozen=True)
class Item:
    row: int
    recording: str
    start_s: float
    end_s: float
    answer: str                 # the model's answer for the window
    score: float                # similarity (hits) or uncertainty (queue)
    label: str | None = None    # what a person gave it here (None: not yet)
    saved: bool = False


class LabelSession:
    """The windows being labelled in one index (see the module docstring)."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.kind = HITS
        self.items: list[Item] = []
        self.current: int | None = None
        self.query_label = ""               # what Enter gives (the query's label, or a queue item's answer)
        self.query: tuple[str, float, float] | None = None
        self.page = 0
        self.seen_rows: set[int] = set()    # the rows of the queue's pages shown since its first page
        self.events = Emitter(("items", "current", "labelled", "saved", "failed"))
        self._tracks: dict[str, RegionTrack] = {}
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="label-writer")
        self._pending: list[Future] = []
        self._lock = threading.Lock()

    @classmethod
    def open(cls, root: str | Path) -> LabelSession:
        return cls(Index(root))

    # ---- finding windows (pure: may run in a worker; the results go to set_items) -------------------
    def more_like_this(self, recording: str, start_s: float, end_s: float, *, top: int = 20) -> list[Item]:
        """The index's ``top`` windows nearest the example (a recording of the index, or any audio file)."""
        example = [(str(recording), float(start_s), float(end_s))]
        scorer = fit_examples(self.index, example)  # as `main.py similar` ranks by default (docs/INDEX.md)
        hits = similar(self.index, scorer.query, top=top, exclude=example)
        done = labelled_rows(self.index)
        return [Item(h.row, h.recording, h.start_s, h.end_s, h.label, scorer.score(h.similarity), done.get(h.row),
                     h.row in done) for h in hits]

    def queue_page(self, per_page: int = 18, *, skip_rows=(), measure: str = "margin") -> list[Item]:
        """The next ``per_page`` windows to label, leaving out every row labelled so far and
        ``skip_rows`` (the pages already shown: :attr:`seen_rows`, so a window left unlabelled on
        one page never falls between two pages)."""
        done = labelled_rows(self.index)
        items = label_queue(self.index, per_page, measure=measure, skip_rows=set(done) | set(skip_rows))
        return [Item(q.row, q.recording, q.start_s, q.end_s, q.label, q.uncertainty) for q in items]

    # ---- the list (the thread the views live in) ----------------------------------------------------
    def set_items(self, items: list[Item], kind: str = HITS, *, query_label: str = "", page: int = 0,
                  query: tuple[str, float, float] | None = None) -> None:
        self.items, self.kind, self.page = list(items), kind, page
        if kind == QUEUE:
            self.seen_rows = ({i.row for i in items} | self.seen_rows) if page else {i.row for i in items}
        self.query_label, self.query = query_label, query
        self.events.emit("items", self.items)
        self.set_current(0 if self.items else None)

    def set_current(self, position: int | None) -> None:
        if position is not None:
            position = max(0, min(position, len(self.items) - 1)) if self.items else None
        if position != self.current:
            self.current = position
            self.events.emit("current", position)

    def move(self, delta: int) -> None:
        self.set_current(0 if self.current is None else self.current + delta)

    def default_label(self, position: int | None = None) -> str:
        """What accepting gives: the query's label for a hit, the model's answer for a queue item."""
        position = self.current if position is None else position
        if self.kind == HITS and self.query_label:
            return self.query_label
        return self.items[position].answer if position is not None and self.items else ""

    def accept(self) -> None:
        """Label the current item with :meth:`default_label` and move on."""
        if self.current is not None:
            self.label(self.current, self.default_label())

    def background(self) -> None:
        if self.current is not None:
            self.label(self.current, BACKGROUND)

    def label(self, position: int, label: str, *, advance: bool = True) -> None:
        """Give item ``position`` ``label``: shown at once, saved by the writer thread."""
        label = label.strip()
        if not label:
            raise EarmarkError("a window needs a label")
        item = self.items[position] = replace(self.items[position], label=label, saved=False)
        self.events.emit("labelled", position)
        future = self._writer.submit(self._save, position, item)
        with self._lock:
            self._pending = [f for f in self._pending if not f.done()] + [future]
        if advance and position == self.current:
            self.move(1)

    def _save(self, position: int, item: Item) -> None:  # the writer thread
        try:
            region = label_window(self.index, item.recording, item.start_s, item.end_s, item.label,
                                  tracks=self._tracks)
        except (EarmarkError, OSError) as exc:
            self.events.emit("failed", (position, str(exc)))
            return
        if position < len(self.items) and self.items[position].row == item.row:
            self.items[position] = replace(self.items[position], saved=True)
        self.events.emit("saved", (position, region))

    def pending(self) -> int:
        """Labels given but not saved yet."""
        with self._lock:
            return sum(not f.done() for f in self._pending)

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait until every label given so far is saved."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            future.result(timeout_s)

    def labelled_count(self) -> int:
        return sum(item.label is not None for item in self.items)

    def close(self) -> None:
        """Save what is pending and stop the writer thread."""
        self._writer.shutdown(wait=True)
