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

from engine.catalog import ModelCatalog
from engine.errors import EarmarkError
from gui.wizard.export_page import export_model
from gui.wizard.results_page import ResultsPanel
from gui.wizard.runs import RunRecord, list_runs, runs_dir

COLUMNS = ("run", "model", "data", "status", "accuracy")


class PastRunsDialog(QDialog):
    def __init__(self, catalog: ModelCatalog | None = None, parent=None, *, root: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Past training runs")
        self.catalog = catalog
        self.root = root or runs_dir()
        self.records: list[RunRecord] = []
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
        self.use_button.setEnabled(record.finished and (record.path / "model.onnx").is_file())
        self.status_label.setText("")

    def _on_use_clicked(self) -> None:
        record = self.current()
        if record is None:
            return
        try:
            target = export_model(record.path, record.path.name)
            if self.catalog is not None:
                self.catalog.refresh()
                self.catalog.select(target)
        except EarmarkError as exc:
            self.status_label.setText(str(exc))
            return
        self.status_label.setText(f"✔ {target} is now the live model")
