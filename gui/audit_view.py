"""The Audit tab: find and fix wrong labels by listening and looking, suspects first.

Keys (with the clip table focused): Up/Down move, Space play/stop, 1-9 relabel to the
n-th label, Shift+letter relabel to the (next) label starting with that letter, F flag as
doubtful, R mark reviewed, Ctrl+Z undo, Ctrl+Shift+Z (or Ctrl+Y) redo.

The state is a Qt-free :class:`engine.datasets.session.DatasetSession` (manifest, edits,
ranking, selection); this view and its parts only observe it (``_on_session_<event>``)
and call it. Opening a data set, decoding the selected clip and ranking are jobs run by
:class:`~gui.workers.job_worker.JobWorker`, never on the GUI thread.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QSplitter, QVBoxLayout, QWidget

from engine.datasets.session import DatasetSession, OpenRequest, open_dataset_job
from engine.jobs.outputs import free_name
from gui.audit.bars import AuditActionBar, AuditFilterBar
from gui.audit.commands import AuditCommands
from gui.audit.preview import ClipPreview
from gui.audit.ranking import RankingRunner
from gui.audit.side_panel import ClipSidePanel
from gui.audit.table import COL, ClipFilterProxy, ClipTableModel, make_table
from gui.workers.job_worker import JobWorker
from gui.workers.registry import workers

log = logging.getLogger(__name__)
OPEN_TIMEOUT_S = 5.0


class AuditView(QWidget):
    opened = Signal(object)        # engine.datasets.manifest.Manifest (original labels)
    ranked = Signal(object)        # trainer.audit.rank.AuditResult
    edited = Signal(object)        # engine.datasets.edits.Change, after it was saved
    failed = Signal(str)
    status_message = Signal(str)

    def __init__(self, parent=None, *, use_audio_device: bool = True, autoplay: bool = True, folds: int = 5,
                 seed: int = 0) -> None:
        super().__init__(parent)
        self.session = DatasetSession()
        self._opener: JobWorker | None = None
        self._build(autoplay)
        self.preview = ClipPreview(self.session, self.clip_panel, self.saliency_check, self.autoplay_check,
                                   is_visible=self.isVisible, use_audio_device=use_audio_device, parent=self)
        self.preview.failed.connect(self._show_error)
        self.preview.noticed.connect(self._show_notice)
        self.preview.loaded.connect(lambda _key: self.side.clear_error())
        self.player = self.preview.player
        self.ranking = RankingRunner(self.session, self.progress, folds=folds, seed=seed, parent=self)
        self.ranking.failed.connect(self._show_error)
        self.ranking.noticed.connect(self._show_notice)
        self.ranking.started.connect(self._update_buttons)
        self.ranking.ended.connect(self._update_buttons)
        self.commands = AuditCommands(self.session, self.table, self.preview, select_key=self.select_key,
                                      show_error=self._show_error, parent=self)
        self.side.label_picked.connect(self._on_label_picked)
        self.actions_bar.undo_button.clicked.connect(self.commands.undo)
        self.actions_bar.redo_button.clicked.connect(self.commands.redo)
        self._unsubscribe = [self.session.subscribe(event, getattr(self, f"_on_session_{event}"))
                             for event in ("opened", "edited", "ranked")]
        self._update_buttons()

    # ---- layout -------------------------------------------------------------------------------
    def _build(self, autoplay: bool) -> None:
        self.actions_bar = bar = AuditActionBar()
        for button, slot in ((bar.open_button, self.open_dialog), (bar.rank_button, lambda: self.rank_suspects()),
                             (bar.cancel_button, self.cancel_ranking), (bar.model_button, self.choose_model),
                             (bar.export_button, self.export_dialog)):
            button.clicked.connect(slot)
        self.progress, self.source_label = bar.progress, bar.source_label
        self.filters = AuditFilterBar()
        self.filters.changed.connect(self._on_filters_changed)
        self.label_filter, self.text_filter = self.filters.label_filter, self.filters.text_filter
        self.counts_label = self.filters.counts_label
        self.model = ClipTableModel(self.session, self)
        self.proxy = ClipFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = make_table(self.proxy)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row_changed)
        self.side = ClipSidePanel()
        self.side.saliency_toggled.connect(lambda _on: self.preview.request_saliency())
        self.clip_panel, self.label_picker = self.side.clip_panel, self.side.label_picker
        self.prediction_label, self.message_label = self.side.prediction_label, self.side.message_label
        self.saliency_check, self.autoplay_check = self.side.saliency_check, self.side.autoplay_check
        self.autoplay_check.setChecked(autoplay)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.side)
        splitter.setSizes([640, 560])
        layout = QVBoxLayout(self)
        layout.addWidget(self.actions_bar)
        layout.addWidget(self.filters)
        layout.addWidget(splitter, 1)

    # ---- the session's state, read-only, for callers written against the view ------------------
    @property
    def base(self):
        """The data set as read (original labels), or None: ``session.base``."""
        return self.session.base

    @property
    def edits(self):
        return self.session.edits

    @property
    def result(self):
        return self.session.result

    # ---- opening (a job) ----------------------------------------------------------------------
    def open_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a data set folder")
        if folder:
            self.open_dataset(folder, self.actions_bar.layout_choice)

    def open_dataset(self, root, layout: str | None = None) -> JobWorker:
        """Read the data set and its saved edits in a job: ``opened`` follows, or ``failed`` (shown inline)."""
        if self._opener is not None:
            self._opener.cancel()
        self.source_label.setText(f"Opening {root}…")
        self._opener = JobWorker(open_dataset_job, OpenRequest(root, layout), what="Opening the data set", owner=self)
        self._opener.finished.connect(self._on_opener_finished)
        self._opener.failed.connect(self._on_opener_failed)
        self._opener.progressed.connect(self._on_opener_progressed)
        return self._opener.start()

    def _on_opener_progressed(self, progress) -> None:
        if self.sender() is self._opener and not self.ranking.running:   # the bar, not a relaid-out label
            self.progress.setVisible(True)
            self.progress.setRange(0, max(progress.total, 1))
            self.progress.setValue(progress.step)
            self.progress.setFormat(progress.message)

    def _on_opener_finished(self, opened) -> None:
        if self.sender() is not self._opener:
            return  # another data set was asked for since
        self._opener = None
        self.progress.setVisible(False)
        self.ranking.shutdown()
        self.proxy.sort(-1)  # the new rows are sorted once, by file, not first by the old column too
        self.session.adopt(opened)

    def _on_opener_failed(self, message: str) -> None:
        if self.sender() is self._opener:
            self._opener = None
            self.progress.setVisible(self.ranking.running)
            self.source_label.setText("Open a data set to audit its labels")
            self._show_error(message)

    def _on_session_opened(self, session: DatasetSession) -> None:
        base, edits = session.base, session.edits
        self.table.setColumnHidden(COL["Fold"], all(c.fold is None for c in session.clips))
        self.filters.set_labels(session.labels)
        self.side.set_labels(session.labels)
        self._on_filters_changed()
        self.source_label.setText(f"{base.layout}: {base.root}  ·  edits saved to {edits.path.name}")
        self.message_label.clear()
        if session.warnings:  # skipped files, a damaged edits file set aside: said, not swallowed
            self._show_notice(" · ".join(w.message for w in session.warnings))
        self.proxy.sort(COL["File"], Qt.SortOrder.AscendingOrder)
        self._update_buttons()
        self.opened.emit(base)
        if self.proxy.rowCount():
            self.preview.hold_autoplay()
            self.select_proxy_row(0)
        self.table.setFocus()

    # ---- selection ----------------------------------------------------------------------------
    def current_key(self) -> str | None:
        return self.session.current_key

    def select_proxy_row(self, proxy_row: int) -> None:
        index = self.proxy.index(proxy_row, 0)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().setCurrentIndex(index, flags)
        self.table.scrollTo(index)

    def select_key(self, key: str) -> bool:
        row = self.model.row_of(key)
        index = self.proxy.mapFromSource(self.model.index(row, 0)) if row is not None else None
        if index is None or not index.isValid():
            return False
        self.select_proxy_row(index.row())
        return True

    def _on_current_row_changed(self, current, _previous) -> None:
        row = self.proxy.mapToSource(current).row() if current.isValid() else None
        self.session.select(None if row is None else self.model.rows[row].key)
        self.side.show_session_clip(self.session)

    def _on_label_picked(self, label: str) -> None:
        self.commands.relabel(label)
        self.table.setFocus()

    # ---- session -> view ----------------------------------------------------------------------
    def _on_session_edited(self, change) -> None:
        self._update_counts()
        self.side.show_session_clip(self.session)
        self._update_buttons()
        self.edited.emit(change)

    def _on_session_ranked(self, result) -> None:
        self.proxy.sort(COL["Rank"], Qt.SortOrder.AscendingOrder)
        self.table.horizontalHeader().setSortIndicator(COL["Rank"], Qt.SortOrder.AscendingOrder)
        note = result.unjudged_note() if hasattr(result, "unjudged_note") else ""
        self.source_label.setText(f"{int(result.is_issue.sum())} likely label issues"
                                  + (f" · {note}" if note else "") + f" · {result.source}")
        if note:  # the source line is elided at 1366 px: the reason is also said where it can be read
            self._show_notice(note[0].upper() + note[1:])
        self._update_counts()
        if self.proxy.rowCount():
            self.preview.hold_autoplay()
            self.select_proxy_row(0)
        self.side.show_session_clip(self.session)
        self.ranked.emit(result)

    def _update_counts(self) -> None:
        self.filters.show_counts(self.model.class_counts(), self.proxy.rowCount(), len(self.model.rows))

    def _update_buttons(self) -> None:
        has_data, running = self.session.is_open, self.ranking.running
        bar = self.actions_bar
        bar.rank_button.setEnabled(has_data and not running)
        bar.cancel_button.setEnabled(running)
        bar.export_button.setEnabled(has_data)
        bar.undo_button.setEnabled(self.session.can_undo)
        bar.redo_button.setEnabled(self.session.can_redo)

    def _on_filters_changed(self, *_args) -> None:
        self.proxy.set_filters(**self.filters.values())
        self._update_counts()

    def _show_error(self, message: str) -> None:
        self.side.show_error(message)
        self.failed.emit(message)

    def _show_notice(self, message: str) -> None:
        self.side.show_notice(message)
        self.status_message.emit(message)

    # ---- ranking ------------------------------------------------------------------------------
    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Score with a model", "", "ONNX models (*.onnx)")
        self.session.model_path = path or None
        self.actions_bar.model_button.setText(f"Model: {Path(path).name}" if path else "Use model…")

    def rank_suspects(self, model_path: str | None = None) -> JobWorker | None:
        return self.ranking.start(model_path)

    def cancel_ranking(self) -> None:
        self.ranking.cancel()

    def set_torch_model(self, model, labels: list[str]) -> None:
        """Explain clips with Grad-CAM of a torch ``WaveformModel`` (``.frontend`` + ``.classifier``)."""
        self.preview.set_torch_model(model, labels)

    # ---- export and shutdown ------------------------------------------------------------------
    def export_dialog(self) -> None:
        if self.session.base is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export corrected CSV",
                                              str(free_name(Path(self.session.base.data_root) / "corrected.csv")),
                                              "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path) -> bool:
        if not self.session.is_open:
            return False
        written = self.commands.export_csv(path)
        if written is not None:
            self.status_message.emit(f"Corrected labels written to {written}")
        return written is not None

    def busy_description(self) -> str:
        """What quitting now would cut short ("" when nothing)."""
        return "Ranking suspects" if self.ranking.running else ""

    def shutdown(self) -> None:
        """Cancel and join every job of this view (each with a time limit; an overrun ends on its own)."""
        self.ranking.shutdown()
        self.preview.shutdown()
        workers.stop(OPEN_TIMEOUT_S, owner=self)
        self._opener = None

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)
