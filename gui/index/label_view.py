"""The Label window: label an index's windows from the keyboard, then train and re-score.

Two pages over one index — **More like this** (the hits of a region chosen in the Annotate tab,
ranked) and **What to label next** (the queue, a page of spectrogram tiles at a time) — each a
:class:`gui.index.windows_panel.WindowsPanel` over a Qt-free
:class:`engine.index.session.LabelSession`, sharing the app's player. **Train from these labels**
runs :func:`gui.index.train_loop.loop_job` (data set, training in a child process, a new index by
the new model) and opens the new index when it ends. Opening an index, searching, drawing the
queue and training are all jobs in :class:`gui.workers.job_worker.JobWorker` s: nothing reads a
file or runs a model on the GUI thread.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QTabWidget, QVBoxLayout, QWidget

from engine.index.search import Index
from engine.index.session import HITS, QUEUE, LabelSession
from engine.userdirs import runs_dir
from gui.index.train_loop import LoopRequest, loop_job
from gui.index.window import IndexWindow
from gui.index.windows_panel import WindowsPanel
from gui.workers.job_worker import JobWorker, call_job
from gui.workers.playback import Player

PER_PAGE = 18
TOP_HITS = 20


class LabelView(QWidget):
    opened = Signal(object)        # engine.index.search.Index
    hits_shown = Signal()
    queue_shown = Signal()
    rescored = Signal(object)      # gui.index.train_loop.LoopResult, once the new index is open
    failed = Signal(str)
    region_saved = Signal(str)     # a recording (full path) whose sidecar a label was just saved into

    def __init__(self, parent: QWidget | None = None, *, use_audio_device: bool = True) -> None:
        super().__init__(parent)
        self.index: Index | None = None
        self.hits_session: LabelSession | None = None
        self.queue_session: LabelSession | None = None
        self.recipe: dict = {}                 # TrainRequest fields for "Train from these labels" (default: the recipe's)
        self.workers: dict[str, JobWorker] = {}
        self._pending_query = None
        self.player = Player(self, use_device=use_audio_device)
        self.hits_panel = WindowsPanel(self.player, grid=False)
        self.queue_panel = WindowsPanel(self.player, grid=True, more_keys="<b>PgDn</b> / <b>N</b> next page")
        self.queue_panel.next_page_requested.connect(self.next_page)
        for panel in (self.hits_panel, self.queue_panel):
            panel.region_saved.connect(self.region_saved)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.hits_panel, "More like this")
        self.tabs.addTab(self.queue_panel, "What to label next")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.title = QLabel("No index open")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setWordWrap(True)             # a long folder never widens the window past a laptop screen
        self.queue_button = QPushButton("Refresh the queue")
        self.queue_button.setToolTip("The windows the model is least sure of, spread over labels and recordings (F5)")
        self.queue_button.clicked.connect(lambda: self.show_queue(0))
        self.train_button = QPushButton("Train from these labels")
        self.train_button.setToolTip("Cut every labelled window of this folder into a data set (grouped by "
                                     "recording), train a model on it, and re-score the folder with the new model "
                                     "(Ctrl+T)")
        self.train_button.clicked.connect(self.train_from_labels)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._cancel_training)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.queue_button)
        top.addWidget(self.train_button)
        top.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        QShortcut(QKeySequence("F5"), self, activated=lambda: self.show_queue(0))
        QShortcut(QKeySequence("Ctrl+T"), self, activated=self.train_from_labels)

    # ---- opening -------------------------------------------------------------------------------
    def open_index(self, root: str | Path) -> JobWorker:
        """Open the index at ``root`` (in a worker); the queue's first page follows."""
        self.status.setText(f"Opening {root}…")
        return self._run("open", call_job(lambda: Index(root)), self._on_index_opened)

    def _on_index_opened(self, index: Index) -> None:
        for session in (self.hits_session, self.queue_session):
            if session is not None:
                session.close()
        self.index = index
        self.hits_session, self.queue_session = LabelSession(index), LabelSession(index)
        self.hits_panel.set_session(self.hits_session)
        self.queue_panel.set_session(self.queue_session)
        self.title.setText(f"<b>{Path(index.store.root).name}</b> — {len(index):,} windows of "
                           f"{len(index.recordings)} recordings in {index.folder}; the model knows: "
                           f"{', '.join(index.labels)}")
        self.status.setText("Choose a region in the Annotate tab and More like this (Ctrl+Shift+F), "
                            "or label what the model is least sure of")
        self.opened.emit(index)
        self.show_queue(0)
        if self._pending_query is not None:
            query, self._pending_query = self._pending_query, None
            self.more_like_this(*query)

    # ---- more like this and the queue ----------------------------------------------------------------
    def more_like_this(self, path: str, start_s: float, end_s: float, label: str = "") -> None:
        """The index's windows nearest ``path``'s ``start_s..end_s``; Enter labels a hit ``label``."""
        if self.hits_session is None:
            self._pending_query = (path, start_s, end_s, label)
            return
        session = self.hits_session
        name = session.index.recording_name(path) or path
        self.tabs.setCurrentWidget(self.hits_panel)
        self.status.setText(f"Searching for windows like {Path(path).name} {start_s:.2f}–{end_s:.2f} s…")

        def shown(items) -> None:
            session.set_items(items, HITS, query_label=label, query=(name, start_s, end_s))
            self.status.setText(f"{len(items)} windows like {Path(path).name} {start_s:.2f}–{end_s:.2f} s"
                                + (f" (labelled {label!r})" if label else ""))
            self.hits_panel.list.setFocus()
            self.hits_shown.emit()

        self._run("search", call_job(lambda: session.more_like_this(name, start_s, end_s, top=TOP_HITS)), shown)

    def show_queue(self, page: int = 0) -> None:
        session = self.queue_session
        if session is None:
            return

        def shown(items) -> None:
            session.set_items(items, QUEUE, page=page)
            self.status.setText(f"Page {page + 1} of what to label next: {len(items)} windows, most uncertain first"
                                " (F5 starts again from the first page)")
            if self.tabs.currentWidget() is self.queue_panel:
                self.queue_panel.list.setFocus()
            self.queue_shown.emit()

        seen = set(session.seen_rows) if page else set()

        def page_of() -> list:
            session.flush(10.0)                  # what was just labelled leaves the queue
            return session.queue_page(PER_PAGE, skip_rows=seen)

        self._run("queue", call_job(page_of), shown)

    def next_page(self) -> None:
        if self.queue_session is not None:
            self.show_queue(self.queue_session.page + 1)

    def _on_tab_changed(self, _index: int) -> None:
        panel = self.tabs.currentWidget()
        panel.list.setFocus()

    # ---- train and re-score --------------------------------------------------------------------
    def train_from_labels(self) -> JobWorker | None:
        if self.index is None or "train" in self.workers:
            return None
        sessions = [s for s in (self.hits_session, self.queue_session) if s is not None]
        run_dir = runs_dir() / time.strftime(f"label-{Path(self.index.store.root).name}-%Y%m%d-%H%M%S")
        request = LoopRequest(Path(self.index.store.root), run_dir, dict(self.recipe))

        def job(req, *, on_progress, cancel):
            for session in sessions:
                session.flush(30.0)              # every label given so far is in its sidecar
            return loop_job(req, on_progress=on_progress, cancel=cancel)

        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.train_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        worker = self._run("train", job, self._on_trained, request=request, confirm_quit=True)
        worker.progressed.connect(self._on_train_progress)
        return worker

    def _on_train_progress(self, progress) -> None:
        if progress.fraction is not None:
            self.progress.setValue(int(1000 * progress.fraction))
        if progress.message:
            self.status.setText(f"{progress.stage}: {progress.message}")

    def _on_trained(self, result) -> None:
        counts = ", ".join(f"{label} {n}" for label, n in sorted(result.counts.items()))
        self.status.setText(f"Trained on {counts}; the folder is re-scored by {result.model_path}: "
                            f"new index {result.new_index}")

        def reopened(index) -> None:
            self._on_index_opened(index)
            self.rescored.emit(result)

        self._run("open", call_job(lambda: Index(result.new_index)), reopened)

    def _cancel_training(self) -> None:
        worker = self.workers.get("train")
        if worker is not None:
            worker.cancel()

    # ---- workers --------------------------------------------------------------------------------
    def _run(self, name: str, job, on_finished, *, request=None, confirm_quit: bool = False) -> JobWorker:
        old = self.workers.get(name)
        if old is not None:
            old.cancel()
        worker = self.workers[name] = JobWorker(job, request, what=f"The Label window's {name}", owner=self,
                                                confirm_quit=confirm_quit)
        worker.finished.connect(on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(lambda _m, n=name: self.status.setText(f"{n}: cancelled"))
        worker.ended.connect(lambda n=name, w=worker: self._on_ended(n, w))
        return worker.start()

    def _on_ended(self, name: str, worker: JobWorker) -> None:
        if self.workers.get(name) is worker:
            del self.workers[name]
        if name == "train":
            self.progress.setVisible(False)
            self.train_button.setEnabled(True)
            self.cancel_button.setEnabled(False)

    def _on_failed(self, message: str) -> None:
        self.status.setText(f"⚠ {message}")
        self.failed.emit(message)

    def shutdown(self) -> None:
        """Cancel and join every job, stop the writers and the player."""
        for worker in list(self.workers.values()):
            worker.close(5.0)
        self.hits_panel.shutdown()
        self.queue_panel.shutdown()
        for session in (self.hits_session, self.queue_session):
            if session is not None:
                session.close()
        self.player.stop()


class LabelWindow(IndexWindow):
    def __init__(self, root: str | Path, parent: QWidget | None = None, *, use_audio_device: bool = True) -> None:
        super().__init__(root, "Label", parent)
        self.show_view(LabelView(self, use_audio_device=use_audio_device))
