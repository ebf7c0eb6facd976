"""The Audit tab: find and fix wrong labels by listening and looking, suspects first.

Keys (with the clip table focused): Up/Down move, Space play/stop, 1-9 relabel to the
n-th label, Shift+letter relabel to the (next) label starting with that letter, F flag as
doubtful, R mark reviewed, Ctrl+Z undo, Ctrl+Shift+Z (or Ctrl+Y) redo.

Edits go through :class:`engine.edits.LabelEdits`, which saves them at once beside the data
set; this view only listens to it (``_on_edits_changed``) and refreshes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import soundfile as sf
from PySide6.QtCore import QEvent, QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QSplitter, QVBoxLayout, QWidget

from engine.audio import load_audio
from engine.edits import DOUBTFUL, LabelEdits, export_csv
from engine.errors import EarmarkError
from engine.manifest import EMODB_EMOTIONS, Manifest, read_manifest
from gui.audit.bars import AuditActionBar, AuditFilterBar
from gui.audit.keys import command_for, next_label_for_letter
from gui.audit.saliency import saliency_job
from gui.audit.side_panel import ClipSidePanel
from gui.audit.table import COL, ClipFilterProxy, ClipRow, ClipTableModel, make_table, suspicion_from_result
from gui.audit.worker import AuditWorker
from gui.workers.playback import Player
from gui.workers.task import TaskWorker

log = logging.getLogger(__name__)
MAX_CLIP_S = 600.0


class AuditView(QWidget):
    opened = Signal(object)        # engine.manifest.Manifest (original labels)
    ranked = Signal(object)        # trainer.audit.AuditResult
    edited = Signal(object)        # engine.edits.Change, after it was saved
    failed = Signal(str)
    status_message = Signal(str)

    def __init__(self, parent=None, *, use_audio_device: bool = True, autoplay: bool = True, folds: int = 5,
                 seed: int = 0) -> None:
        super().__init__(parent)
        self.base: Manifest | None = None
        self.edits: LabelEdits | None = None
        self.result = None
        self.model_path: str | None = None
        self.folds, self.seed, self._autoplay = folds, seed, autoplay
        self.worker: AuditWorker | None = None
        self._tasks: list[TaskWorker] = []
        self._unsubscribe = None
        self._result_index: dict[str, int] = {}
        self.torch_model, self.torch_labels, self.saliency_caption = None, [], ""
        self.player = Player(self, use_device=use_audio_device)
        self.player.moved.connect(lambda s: self.clip_panel.move_cursor(s))
        self.player.noticed.connect(self._show_notice)
        self._build()

    # ---- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.actions_bar = bar = AuditActionBar()
        for button, slot in ((bar.open_button, self.open_dialog), (bar.rank_button, lambda: self.rank_suspects()),
                             (bar.cancel_button, self.cancel_ranking), (bar.model_button, self.choose_model),
                             (bar.undo_button, self.undo), (bar.redo_button, self.redo),
                             (bar.export_button, self.export_dialog)):
            button.clicked.connect(slot)
        self.progress, self.source_label = bar.progress, bar.source_label
        self.filters = AuditFilterBar()
        self.filters.changed.connect(self._on_filters_changed)
        self.label_filter, self.text_filter = self.filters.label_filter, self.filters.text_filter
        self.counts_label = self.filters.counts_label

        self.model = ClipTableModel(self)
        self.proxy = ClipFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = make_table(self.proxy)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row_changed)
        self.table.installEventFilter(self)

        self.side = ClipSidePanel()
        self.side.label_picked.connect(self._on_label_picked)
        self.side.saliency_toggled.connect(lambda _on: self._request_saliency())
        self.clip_panel, self.label_picker = self.side.clip_panel, self.side.label_picker
        self.prediction_label, self.message_label = self.side.prediction_label, self.side.message_label
        self.saliency_check, self.autoplay_check = self.side.saliency_check, self.side.autoplay_check
        self.autoplay_check.setChecked(self._autoplay)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.side)
        splitter.setSizes([640, 560])

        layout = QVBoxLayout(self)
        layout.addWidget(self.actions_bar)
        layout.addWidget(self.filters)
        layout.addWidget(splitter, 1)
        self._update_buttons()

    # ---- opening ------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a data set folder")
        if folder:
            self.open_dataset(folder, self.actions_bar.layout_choice)

    def open_dataset(self, root, layout: str | None = None) -> bool:
        """Read the data set (original labels) and its saved edits; False (shown inline) on error."""
        try:
            base = read_manifest(root, layout, use_edits=False)
            edits = LabelEdits.for_manifest(base)
        except EarmarkError as exc:
            self._show_error(str(exc))
            return False
        self._close_workers()
        if self._unsubscribe:
            self._unsubscribe()
        self.base, self.edits, self.result, self._result_index = base, edits, None, {}
        self._unsubscribe = edits.subscribe(self._on_edits_changed)
        rows = [ClipRow(edits.key(c.path), Path(c.path), c.label, c.group, c.fold, _duration_s(c.path))
                for c in base.clips]
        known = set(EMODB_EMOTIONS.values()) if base.layout == "emodb" else set()  # relabel to any emotion
        extra = ({edits.label_of(r.key) for r in rows} | known) - set(base.labels) - {None}
        labels = sorted(set(base.labels) | extra) if known else list(base.labels) + sorted(extra)
        self.model.reset(rows, labels, edits)
        self.table.setColumnHidden(COL["Fold"], all(r.fold is None for r in rows))
        self._fill_label_combos(labels)
        self.source_label.setText(f"{base.layout}: {base.root}  ·  edits saved to {edits.path.name}")
        self.message_label.clear()
        self.proxy.sort(COL["File"], Qt.SortOrder.AscendingOrder)
        self._update_counts()
        self._update_buttons()
        self.opened.emit(base)
        if self.proxy.rowCount():
            self.select_proxy_row(0)
        self.table.setFocus()
        return True

    def _fill_label_combos(self, labels: list[str]) -> None:
        self.filters.set_labels(labels)
        self.side.set_labels(labels)
        self._on_filters_changed()

    def current_manifest(self) -> Manifest | None:
        """The data set as edited (new labels, flags)."""
        if self.base is None or self.edits is None:
            return None
        clips = self.edits.apply(self.base.clips)
        present = {c.label for c in clips}
        labels = [label for label in self.model.labels if label in present]
        labels += sorted(present - set(labels))
        return Manifest(self.base.root, self.base.layout, clips, labels)

    # ---- selection ----------------------------------------------------------------------------
    def current_row(self) -> int | None:
        index = self.table.currentIndex()
        return self.proxy.mapToSource(index).row() if index.isValid() else None

    def current_key(self) -> str | None:
        row = self.current_row()
        return None if row is None else self.model.rows[row].key

    def select_proxy_row(self, proxy_row: int) -> None:
        index = self.proxy.index(proxy_row, 0)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().setCurrentIndex(index, flags)
        self.table.scrollTo(index)

    def select_key(self, key: str) -> bool:
        row = self.model.row_of(key)
        if row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            return False
        self.select_proxy_row(index.row())
        return True

    def _on_current_row_changed(self, current, _previous) -> None:
        self.player.stop()
        row = self.proxy.mapToSource(current).row() if current.isValid() else None
        if row is None:
            self.clip_panel.clear()
            self._update_side()
            return
        try:
            audio = load_audio(self.model.rows[row].path, max_s=MAX_CLIP_S)
        except EarmarkError as exc:
            self.clip_panel.clear()
            self._show_error(str(exc))
        else:
            self.message_label.clear()
            self.clip_panel.show_audio(audio)
            self.player.load(audio.samples, audio.sample_rate_hz)
            if self.autoplay_check.isChecked() and self.isVisible():
                self.player.play()
            self._request_saliency()
        self._update_side()

    # ---- keyboard -----------------------------------------------------------------------------
    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        if watched is self.table and event.type() in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            action = self._key_action(event)
            if action is not None:
                event.accept()
                if event.type() == QEvent.Type.KeyPress:
                    action()
                return True
        return super().eventFilter(watched, event)

    def _key_action(self, event):
        command = command_for(event.key(), event.modifiers(), self.model.labels)
        if command is None:
            return None
        name, *args = command
        actions = {"play": self.player.toggle, "stop": self.player.stop, "undo": self.undo, "redo": self.redo,
                   "toggle_flag": self.toggle_flag_current, "relabel": self.relabel_current,
                   "relabel_letter": self.relabel_by_letter}
        return lambda: actions[name](*args)

    # ---- edits (view -> model) ----------------------------------------------------------------
    def _edit(self, fn, *args) -> None:
        key = self.current_key()
        if key is None or self.edits is None:
            return
        try:
            fn(key, *args)
        except EarmarkError as exc:  # SaveError: the edit was rolled back
            self._show_error(str(exc))

    def relabel_current(self, label: str) -> None:
        self._edit(self.edits.relabel if self.edits else None, label)

    def relabel_by_letter(self, letter: str) -> None:
        row = self.current_row()
        label = next_label_for_letter(letter, self.model.labels, None if row is None else self.model.label(row))
        if label is not None:
            self.relabel_current(label)

    def toggle_flag_current(self, flag: str = DOUBTFUL) -> None:
        self._edit(self.edits.toggle_flag if self.edits else None, flag)

    def _on_label_picked(self, label: str) -> None:
        self.relabel_current(label)
        self.table.setFocus()

    def undo(self) -> None:
        self._history_step("undo")

    def redo(self) -> None:
        self._history_step("redo")

    def _history_step(self, which: str) -> None:
        if self.edits is None:
            return
        try:
            change = getattr(self.edits, which)()
        except EarmarkError as exc:
            self._show_error(str(exc))
            return
        if change is not None and change.clip != self.current_key():
            self.select_key(change.clip)

    # ---- edits (model -> view) ----------------------------------------------------------------
    def _on_edits_changed(self, change) -> None:
        self.model.refresh_key(change.clip)
        self._update_counts()
        self._update_side()
        self._update_buttons()
        self.edited.emit(change)

    def _update_counts(self) -> None:
        self.filters.show_counts(self.model.class_counts(), self.proxy.rowCount(), len(self.model.rows))

    def _update_side(self) -> None:
        row = self.current_row()
        if row is None:
            self.side.show_clip(None)
            return
        clip, label = self.model.rows[row], self.model.label(row)
        pred, s = self.model.predicted(row), self.model.suspicion.get(clip.key)
        verdict = "" if pred is None else (
            f"Suspect #{s.rank}{' — likely label issue' if s.is_issue else ''}: the model says "
            f"<b>{pred[0]}</b> ({pred[1]:.0%}); {label} gets {pred[2]:.0%}")
        self.side.show_clip(clip.key, label, clip.original_label, clip.group, self.model.clip_flags(row), verdict)

    def _update_buttons(self) -> None:
        has_data = self.base is not None
        running = self.worker is not None and self.worker.isRunning()
        self.actions_bar.rank_button.setEnabled(has_data and not running)
        self.actions_bar.cancel_button.setEnabled(running)
        self.actions_bar.export_button.setEnabled(has_data)
        self.actions_bar.undo_button.setEnabled(bool(self.edits and self.edits.can_undo))
        self.actions_bar.redo_button.setEnabled(bool(self.edits and self.edits.can_redo))

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
        self.model_path = path or None
        self.actions_bar.model_button.setText(f"Model: {Path(path).name}" if path else "Use model…")

    def rank_suspects(self, model_path: str | None = None) -> AuditWorker | None:
        manifest = self.current_manifest()
        if manifest is None or (self.worker is not None and self.worker.isRunning()):
            return None
        self.worker = AuditWorker(manifest, model_path=model_path or self.model_path, folds=self.folds,
                                  seed=self.seed, parent=self)
        self.worker.progressed.connect(self._on_rank_progressed)
        self.worker.completed.connect(self._on_rank_completed)
        self.worker.failed.connect(self._on_rank_failed)
        self.worker.cancelled.connect(self._on_rank_cancelled)
        self.worker.finished.connect(self._update_buttons)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.worker.start()
        self._update_buttons()
        return self.worker

    def cancel_ranking(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _on_rank_progressed(self, stage: str, step: int, total: int, message: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(step)
        self.progress.setFormat(message)

    def _on_rank_completed(self, result) -> None:
        self.progress.setVisible(False)
        self.result = result
        self._result_index = {key: i for i, key in enumerate(result.keys)}
        self.model.set_suspicion(suspicion_from_result(result, self.model.labels))
        self.proxy.sort(COL["Rank"], Qt.SortOrder.AscendingOrder)
        self.table.horizontalHeader().setSortIndicator(COL["Rank"], Qt.SortOrder.AscendingOrder)
        self.source_label.setText(f"{int(result.is_issue.sum())} likely label issues · {result.source}")
        self._update_counts()
        if self.proxy.rowCount():
            self.select_proxy_row(0)
        self.ranked.emit(result)

    def _on_rank_failed(self, message: str) -> None:
        self.progress.setVisible(False)
        self._show_error(message)

    def _on_rank_cancelled(self) -> None:
        self.progress.setVisible(False)
        self._show_notice("Ranking cancelled")

    # ---- why: saliency ------------------------------------------------------------------------
    def set_torch_model(self, model, labels: list[str]) -> None:
        """Explain clips with Grad-CAM of a torch ``WaveformModel`` (``.frontend`` + ``.classifier``)."""
        self.torch_model, self.torch_labels = model, list(labels)
        self._request_saliency()

    def _saliency_job(self, key: str):
        path = self.model.rows[self.model.row_of(key)].path
        return saliency_job(key, path, torch_model=self.torch_model, torch_labels=self.torch_labels,
                            result=self.result, result_index=self._result_index.get(key), max_s=MAX_CLIP_S)

    def _request_saliency(self) -> None:
        self.clip_panel.clear_saliency()
        key = self.current_key()
        job = None if key is None or not self.saliency_check.isChecked() else self._saliency_job(key)
        if job is None:
            return
        worker = TaskWorker(job, what="The saliency map", parent=self)
        worker.completed.connect(self._on_saliency_completed)
        worker.failed.connect(self._show_error)
        worker.finished.connect(lambda w=worker: self._tasks.remove(w) if w in self._tasks else None)
        self._tasks.append(worker)
        worker.start()

    def _on_saliency_completed(self, payload) -> None:
        key, sal, centres, hop_s, caption = payload
        if key == self.current_key() and self.saliency_check.isChecked():
            self.clip_panel.show_saliency(sal, centres, hop_s)
            self.saliency_check.setToolTip(caption)
            self.saliency_caption = caption

    # ---- export and shutdown ------------------------------------------------------------------
    def export_dialog(self) -> None:
        if self.base is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export corrected CSV",
                                              str(Path(self.base.data_root) / "corrected.csv"), "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path) -> bool:
        manifest = self.current_manifest()
        if manifest is None:
            return False
        try:
            written = export_csv(manifest, path)
        except EarmarkError as exc:
            self._show_error(str(exc))
            return False
        self.status_message.emit(f"Corrected labels written to {written}")
        return True

    def _close_workers(self) -> None:
        if self.worker is not None:
            if not self.worker.close():
                log.warning("the ranking worker did not stop in time")
            self.worker = None
        for task in list(self._tasks):
            task.close()
        self._tasks.clear()

    def shutdown(self) -> None:
        self.player.stop()
        self._close_workers()
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)


def _duration_s(path) -> float | None:
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError):
        return None
    return info.frames / info.samplerate if info.samplerate else None
