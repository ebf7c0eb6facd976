"""Page 6: test figures beside validation figures, per-class recall, an interactive confusion matrix.

Everything shown is read from the run's ``metrics.json`` (old and new forms, see
:mod:`gui.wizard.figures`): the headline (cross-validation: pooled out-of-fold), how the
run was evaluated in words, a "test" column beside a "validation" column (an old run,
measured on its validation clips only, keeps one column labelled as before), mean ± std
over several seeds or folds and the plain value for one. Clicking a confusion-matrix cell
lists the held-out clips the exported model put there and plays them. :class:`ResultsPanel`
is shared with the "Open a past run" dialog.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from engine.audio.io import load_audio
from gui.wizard.figures import KEYS, format_figure, has_validation_apart, headline, n_runs
from gui.wizard.runs import Prediction, kept_checkpoints, read_metrics, read_predictions
from gui.workers.playback import Player, audible
from gui.workers.task import TaskWorker

if TYPE_CHECKING:   # the session needs trainer.api; past runs open without the trainer
    from gui.wizard.session import TrainSession

SCALARS = (("accuracy", "accuracy"), ("macro_f1", "macro F1"), ("auc_ovr", "AUC (one-vs-rest)"))


def format_mean_std(entry: dict[str, Any] | None, digits: int = 3, n: int = 2) -> str:
    """``0.812 ± 0.020`` (``n`` seeds or folds, several), ``0.812`` (one), or ``n/a``."""
    return format_figure(entry, n, digits)


class ConfusionMatrixView(QTableWidget):
    """Rows: true class; columns: predicted class. Emits ``cell_chosen(true, predicted)``."""

    cell_chosen = Signal(str, str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.labels: list[str] = []
        self.matrix: list[list[int]] = []
        self.setEditTriggers(QTableWidget.NoEditTriggers)
        self.setSelectionMode(QTableWidget.SingleSelection)
        self.cellClicked.connect(self._on_cell_clicked)

    def show_matrix(self, matrix: list[list[int]], labels: list[str]) -> None:
        self.labels, self.matrix = list(labels), [list(map(int, row)) for row in matrix]
        n = len(labels)
        self.setRowCount(n)
        self.setColumnCount(n)
        self.setHorizontalHeaderLabels([f"→ {label}" for label in labels])
        self.setVerticalHeaderLabels(list(labels))
        for r, row in enumerate(self.matrix):
            total = max(1, sum(row))
            for c, count in enumerate(row):
                item = QTableWidgetItem(str(count))
                item.setTextAlignment(Qt.AlignCenter)
                share = count / total
                good = r == c
                item.setBackground(QBrush(QColor.fromRgbF(0.15, 0.35 + 0.5 * share, 0.2) if good and count else
                                          QColor.fromRgbF(0.2 + 0.7 * share, 0.15, 0.15) if count else
                                          QColor("#1b1d22")))
                item.setForeground(QBrush(QColor("#f0f0f0")))
                item.setToolTip(f"true {labels[r]}, predicted {labels[c]}: {count} ({share:.0%} of the row)")
                self.setItem(r, c, item)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.Stretch)

    def count(self, true_label: str, predicted_label: str) -> int:
        return self.matrix[self.labels.index(true_label)][self.labels.index(predicted_label)]

    def _on_cell_clicked(self, row: int, column: int) -> None:
        self.cell_chosen.emit(self.labels[row], self.labels[column])


class ResultsPanel(QWidget):
    """Metrics of one run folder, read from its metrics.json."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.run_dir: Path | None = None
        self.metrics: dict[str, Any] = {}
        self.predictions: list[Prediction] = []
        self.pooled_predictions: list[Prediction] = []
        self.header_label = QLabel("")
        self.header_label.setWordWrap(True)
        self.headline_label = QLabel("")
        self.headline_label.setWordWrap(True)
        self.evaluation_label = QLabel("")
        self.evaluation_label.setWordWrap(True)
        self.summary_table = _table(["metric", "mean ± std"])
        self.summary_table.setFixedHeight(4 * self.summary_table.verticalHeader().defaultSectionSize() + 8)
        self.recall_table = _table(["class", "recall, mean ± std"])
        self.matrix_choice = QComboBox()
        self.matrix_choice.currentIndexChanged.connect(self._on_matrix_choice_changed)
        self.matrix = ConfusionMatrixView()
        self.matrix.cell_chosen.connect(self._on_cell_chosen)
        self.clips_label = QLabel("Click a cell to list its clips.")
        self.clips_label.setWordWrap(True)
        self.clip_list = QListWidget()
        self.clip_list.itemDoubleClicked.connect(self._on_clip_activated)
        self.play_button = QPushButton("▶ Play clip")
        self.play_button.clicked.connect(lambda: self._on_clip_activated(self.clip_list.currentItem()))
        self.status_label = QLabel("")
        self.player = Player(self)        # the app's one player
        self._clip_reader: TaskWorker | None = None
        self.player.noticed.connect(self.status_label.setText)
        left = QVBoxLayout()
        left.addWidget(self.summary_table)
        left.addWidget(self.recall_table, 1)
        matrix_box = QVBoxLayout()
        choice_row = QHBoxLayout()
        choice_row.addWidget(QLabel("Confusion matrix (rows: true, columns: predicted)"))
        choice_row.addWidget(self.matrix_choice)
        matrix_box.addLayout(choice_row)
        matrix_box.addWidget(self.matrix, 1)
        clips_box = QVBoxLayout()
        clips_box.addWidget(self.clips_label)
        clips_box.addWidget(self.clip_list, 1)
        clips_box.addWidget(self.play_button)
        clips_box.addWidget(self.status_label)
        splitter = QSplitter()
        for box, stretch in ((left, 2), (matrix_box, 4), (clips_box, 2)):
            holder = QWidget()
            holder.setLayout(box)
            splitter.addWidget(holder)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        splitter.setSizes([330, 620, 260])
        layout = QVBoxLayout(self)
        layout.addWidget(self.header_label)
        layout.addWidget(self.headline_label)
        layout.addWidget(self.evaluation_label)
        layout.addWidget(splitter, 1)

    def show_run(self, run_dir: str | Path, metrics: dict[str, Any] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.metrics = metrics if metrics is not None else (read_metrics(self.run_dir) or {})
        self.predictions = read_predictions(self.run_dir)
        self.pooled_predictions = read_predictions(self.run_dir, "oof_predictions.csv")
        if not self.metrics or not isinstance(self.metrics.get("summary"), dict):
            self._show_unfinished()
            return
        self._update_header()
        self._update_headline()
        self._update_tables()
        self.matrix_choice.blockSignals(True)
        self.matrix_choice.clear()
        if isinstance(self.metrics.get("pooled"), dict) and self.metrics["pooled"].get("confusion_matrix"):
            self.matrix_choice.addItem("every clip, pooled out-of-fold", "pooled")
        self.matrix_choice.addItem(f"all {n_runs(self.metrics['summary'])} seed(s), summed", None)
        for i, entry in enumerate(self.metrics.get("per_seed", [])):
            fold = f" fold {entry['fold']}" if "fold" in entry else ""
            self.matrix_choice.addItem(f"seed {entry['seed']}{fold}", i)
        first = self.matrix_choice.count() - len(self.metrics.get("per_seed", []))
        exported = next((i for i, e in enumerate(self.metrics.get("per_seed", []))
                         if e.get("seed") == self.metrics.get("best_seed")
                         and e.get("fold", self.metrics.get("best_fold")) == self.metrics.get("best_fold")), None)
        if exported is not None and self.predictions:   # the clips listed on click are this model's
            index = first + exported
            self.matrix_choice.setItemText(index, self.matrix_choice.itemText(index) + " (exported)")
            self.matrix_choice.setCurrentIndex(index)
        self.matrix_choice.blockSignals(False)
        self._on_matrix_choice_changed()

    def displayed(self) -> dict[str, str]:
        """What the panel shows, as text (for tests and for copying): ``accuracy`` … the first figure
        column (test, or an old run's only column), ``val:accuracy`` … the validation column,
        ``recall:<label>`` / ``val-recall:<label>``, ``headline``, ``evaluation``."""
        out = {"headline": self.headline_label.text(), "evaluation": self.evaluation_label.text(),
               "columns": " | ".join(self.summary_table.horizontalHeaderItem(c).text()
                                     for c in range(self.summary_table.columnCount()))}
        two = self.summary_table.columnCount() == 3
        for row, key in enumerate(KEYS[: self.summary_table.rowCount()]):
            out[key] = self.summary_table.item(row, 1).text()
            if two:
                out[f"val:{key}"] = self.summary_table.item(row, 2).text()
        for row in range(self.recall_table.rowCount()):
            label = self.recall_table.item(row, 0).text()
            out[f"recall:{label}"] = self.recall_table.item(row, 1).text()
            if two:
                out[f"val-recall:{label}"] = self.recall_table.item(row, 2).text()
        return out

    # ---- model -> view --------------------------------------------------------------------------
    def _show_unfinished(self) -> None:
        kept = kept_checkpoints(self.run_dir)
        for widget in (self.headline_label, self.evaluation_label):
            widget.setText("")
        self.summary_table.setRowCount(0)
        self.recall_table.setRowCount(0)
        self.matrix.show_matrix([], [])
        if kept:
            self.header_label.setText(
                f"<b>This run was stopped before its test figures</b>: figures incomplete. Its best checkpoint "
                f"is kept ({', '.join(str(p.relative_to(self.run_dir)) for p in kept)}) and can be exported; the "
                f"model will say it comes from a cancelled run.<br><small>{self.run_dir}</small>")
        else:
            self.header_label.setText(f"{self.run_dir}: no metrics.json (the run did not finish) and no checkpoint")

    def _update_header(self) -> None:
        m = self.metrics
        sizes = m.get("split_sizes", {})
        exported = m.get("export", {})
        test = f" / {sizes['test_clips']} test" if "test_clips" in sizes else ""
        shipped = ("the model refit on every clip" if exported.get("source") == "refit"
                   else f"exported seed {m.get('best_seed', '?')}")
        self.header_label.setText(
            f"<b>{m.get('model', '?')}</b> on {m.get('layout', '?')} data · {sizes.get('train_clips', '?')} training"
            f" / {sizes.get('val_clips', '?')} validation{test} clips · leakage {m.get('leakage_count', '?')} · "
            f"seeds {', '.join(str(s) for s in m.get('seeds', []))} · {shipped}"
            + (f" (parity {exported['parity_max_abs_err']:.1g})" if "parity_max_abs_err" in exported else "")
            + f"<br><small>{self.run_dir}</small>")

    def _update_headline(self) -> None:
        top = headline(self.metrics)
        n = n_runs(self.metrics["summary"])
        where = {"pooled": f"Test, pooled over every clip's out-of-fold prediction"
                           f"{' (' + str(top['n_clips']) + ' clips)' if top.get('n_clips') else ''}",
                 "test": "Test" + (f", mean over {n} seeds or folds" if n > 1 else ""),
                 "validation": "Validation (the clips that also chose the epoch and seed: optimistic)"}[top["source"]]
        parts = [f"{name} {top[key]:.3f}" for key, name in (("accuracy", "accuracy"), ("macro_f1", "macro F1"),
                                                             ("auc_ovr", "AUC")) if top.get(key) is not None]
        raw = self.metrics.get("pooled_uncalibrated")
        if top["source"] == "pooled" and isinstance(raw, dict) and raw.get("macro_f1") is not None:
            parts.append(f"uncalibrated: accuracy {raw['accuracy']:.3f} · macro F1 {raw['macro_f1']:.3f}")
        self.headline_label.setText(f"<b>{where}: {' · '.join(parts) or 'n/a'}</b>")
        evaluation = self.metrics.get("evaluation") or {}
        self.evaluation_label.setText(str(evaluation.get("description", "")))

    def _update_tables(self) -> None:
        summary = self.metrics["summary"]
        val = self.metrics.get("val_summary") if has_validation_apart(self.metrics) else None
        n, n_val = n_runs(summary), n_runs(val)
        spread = " (mean ± std)" if n > 1 else ""
        if val is not None:
            headers, recall_headers = ["metric", f"test{spread}", f"validation{spread}"], ["class", "test recall",
                                                                                         "validation recall"]
        else:
            headers = ["metric", "mean ± std" if n > 1 else "value"]
            recall_headers = ["class", "recall, mean ± std" if n > 1 else "recall"]
        _set_headers(self.summary_table, headers)
        _set_headers(self.recall_table, recall_headers)
        self.summary_table.setRowCount(len(SCALARS))
        for row, (key, text) in enumerate(SCALARS):
            self.summary_table.setItem(row, 0, QTableWidgetItem(text))
            self.summary_table.setItem(row, 1, QTableWidgetItem(format_figure(summary.get(key), n)))
            if val is not None:
                self.summary_table.setItem(row, 2, QTableWidgetItem(format_figure(val.get(key), n_val)))
        recalls = summary.get("per_class_recall", {})
        val_recalls = (val or {}).get("per_class_recall", {})
        self.recall_table.setRowCount(len(recalls))
        for row, (label, entry) in enumerate(recalls.items()):
            self.recall_table.setItem(row, 0, QTableWidgetItem(label))
            self.recall_table.setItem(row, 1, QTableWidgetItem(format_figure(entry, n)))
            if val is not None:
                self.recall_table.setItem(row, 2, QTableWidgetItem(format_figure(val_recalls.get(label), n_val)))

    def _on_matrix_choice_changed(self, *_args) -> None:
        index = self.matrix_choice.currentData()
        if not self.metrics.get("summary"):
            return
        source = (self.metrics["pooled"] if index == "pooled" else
                  self.metrics["summary"] if index is None else self.metrics["per_seed"][index])
        self.matrix.show_matrix(source["confusion_matrix"], self.metrics["labels"])

    # ---- view -> model --------------------------------------------------------------------------
    def _on_cell_chosen(self, true_label: str, predicted_label: str) -> None:
        pooled = self.matrix_choice.currentData() == "pooled"
        source = self.pooled_predictions if pooled else self.predictions
        chosen = [p for p in source if p.true_label == true_label and p.predicted_label == predicted_label]
        self.clip_list.clear()
        for prediction in chosen:
            item = QListWidgetItem(prediction.path.name)
            item.setData(Qt.UserRole, str(prediction.path))
            item.setToolTip(str(prediction.path))
            self.clip_list.addItem(item)
        seed = self.metrics.get("best_seed", "?")
        by = "out-of-fold, each by the fold model that never saw it" if pooled else f"by the exported model (seed {seed})"
        self.clips_label.setText(f"True <b>{true_label}</b>, predicted <b>{predicted_label}</b>: {len(chosen)} "
                                 f"clip(s) {by}. Double-click to play.")
        if chosen:
            self.clip_list.setCurrentRow(0)

    def _on_clip_activated(self, item: QListWidgetItem | None) -> None:
        """Read the clip in a worker (a clip may be long, or on a slow disk: never on this thread),
        then play it; a clip chosen while another is read replaces it."""
        if item is None:
            return
        path = str(item.data(Qt.UserRole))
        self.status_label.setText(f"Reading {Path(path).name}…")
        worker = TaskWorker(lambda: load_audio(path), what="Reading the clip", owner=self)
        self._clip_reader = worker
        worker.completed.connect(lambda audio: self._play_clip(worker, path, audio))
        worker.failed.connect(lambda message: self._clip_failed(worker, message))
        worker.start()

    def _play_clip(self, worker, path: str, audio) -> None:
        if worker is not self._clip_reader:
            return  # another clip was chosen since
        self.player.load(audible(audio.samples), audio.sample_rate_hz)
        self.player.play()
        self.status_label.setText(f"Playing {Path(path).name}")

    def _clip_failed(self, worker, message: str) -> None:
        if worker is self._clip_reader:
            self.status_label.setText(message)


def _set_headers(table: QTableWidget, headers: list[str]) -> None:
    table.setColumnCount(len(headers))
    table.setHorizontalHeaderLabels(headers)


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
    return table


class ResultsPage(QWizardPage):
    def __init__(self, session: TrainSession, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.setTitle("6 · Results")
        self.setSubTitle("Test figures (clips nothing was chosen on) beside validation figures (the clips that chose "
                         "the epoch and seed); mean ± std over several seeds or folds.")
        self.panel = ResultsPanel()
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel)

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        if self.session.run_dir is not None:
            self.panel.show_run(self.session.run_dir)
