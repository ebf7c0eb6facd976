"""The "Open a past run…" dialog: every kept run, its results, and its model one click from live use."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from engine.errors import EarmarkError
from engine.models.catalog import ModelCatalog
from gui.wizard.export_page import (
    ExportRequest,
    ExportResult,
    ask_yes_no,
    confirm_export,
    done_text,
    export_job,
)
from gui.wizard.results_page import ResultsPanel
from gui.wizard.runs import RunRecord, exportable, list_runs, runs_dir
from gui.workers.job_worker import JobWorker

COLUMNS = ("run", "model", "data", "status", "accuracy")


class PastRunsDialog(QDialog):
    def __init__(self, catalog: ModelCatalog | None = None, parent=None, *, root: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Past training runs")
        self.catalog = catalog
        self.root = root or runs_dir()
        self.records: list[RunRecord] = []
        self.ask = ask_yes_no      # the confirmation before a near-chance or cancelled run's export
        self.worker: JobWorker | None = None
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.setSelectionMode(QTableWidget.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.panel = ResultsPanel()
        self.use_button = QPushButton("Use this model in the live view")
        self.use_button.clicked.connect(self._on_use_clicked)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(1, 3)
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel(f"Runs in {self.root}"), 1)
        buttons.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)
        self.resize(1100, 760)
        self.reload()

    def reload(self) -> None:
        self.records = list_runs(self.root)
        self.table.setRowCount(len(self.records))
        for row, record in enumerate(self.records):
            for col, text in enumerate((record.path.name, record.model, record.data, record.status,
                                        record.accuracy)):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.use_button.setEnabled(False)

    def open_run(self, run_dir: str | Path) -> None:
        target = Path(run_dir).resolve()
        for row, record in enumerate(self.records):
            if record.path.resolve() == target:
                self.table.selectRow(row)
                return
        self.panel.show_run(target)

    def current(self) -> RunRecord | None:
        rows = self.table.selectionModel().selectedRows()
        return self.records[rows[0].row()] if rows else None

    def _on_selection_changed(self) -> None:
        record = self.current()
        if record is None:
            return
        self.panel.show_run(record.path)
        self.use_button.setEnabled(exportable(record.path) and not self.busy())   # a cancelled run's checkpoint too
        self.status_label.setText("")

    def busy(self) -> bool:
        return self.worker is not None and self.worker.is_running()

    def _on_use_clicked(self) -> None:
        record = self.current()
        if record is None or self.busy() or not confirm_export(self, record.path, None, self.ask):
            return
        self.worker = JobWorker(export_job, ExportRequest(record.path, record.path.name), what="Exporting the model",
                                owner=self)
        self.worker.finished.connect(self._on_worker_finished)
        self.worker.failed.connect(self.status_label.setText)
        self.worker.cancelled.connect(self.status_label.setText)
        self.worker.ended.connect(lambda: self.use_button.setEnabled(self.current() is not None))
        self.use_button.setEnabled(False)
        self.status_label.setText("Exporting…")
        self.worker.start()

    def _on_worker_finished(self, result: ExportResult) -> None:
        try:
            if self.catalog is not None:
                self.catalog.refresh()
                self.catalog.select(result.path)
        except (EarmarkError, OSError, ValueError) as exc:
            self.status_label.setText(str(exc))
            return
        self.status_label.setText(done_text(result).replace("The live view now uses", "Now the live model:"))

    def done(self, result: int) -> None:
        if self.worker is not None:
            self.worker.close(10.0)
        super().done(result)
