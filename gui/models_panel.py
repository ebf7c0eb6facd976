"""The models panel: every model found, its labels, training data and metrics, or why it is refused."""

from __future__ import annotations

import html
import json
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine.catalog import ModelCatalog, ModelEntry
from engine.errors import ModelLoadError


class ModelsPanel(QWidget):
    status_message = Signal(str)

    def __init__(self, catalog: ModelCatalog, parent=None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.list = QListWidget()
        self.list.currentRowChanged.connect(self._on_list_row_changed)
        self.list.itemDoubleClicked.connect(lambda _: self.use_selected())
        self.details = QTextBrowser()
        self.details.setOpenExternalLinks(False)
        self.use_button = QPushButton("Use this model")
        self.use_button.clicked.connect(self.use_selected)
        add = QPushButton("Add model file…")
        add.clicked.connect(self._on_add_clicked)
        reload_button = QPushButton("Reload")
        reload_button.setToolTip("Look for models again in models_onnx/ and your model folder")
        reload_button.clicked.connect(self.catalog.refresh)
        buttons = QHBoxLayout()
        for button in (self.use_button, add, reload_button):
            buttons.addWidget(button)
        self.folders_label = QLabel()
        self.folders_label.setWordWrap(True)
        self.folders_label.setStyleSheet("color: #8b949e;")
        layout = QVBoxLayout(self)
        layout.addWidget(self.folders_label)
        layout.addWidget(self.list, 2)
        layout.addLayout(buttons)
        layout.addWidget(self.details, 3)
        catalog.subscribe("entries", self._on_catalog_entries)
        catalog.subscribe("current", self._on_catalog_current)
        self._update_list()

    # ---- catalog -> view ---------------------------------------------------------------
    def _on_catalog_entries(self, entries) -> None:
        self._update_list()

    def _on_catalog_current(self, entry) -> None:
        self._update_list()

    def _update_list(self) -> None:
        self.folders_label.setText("Looking in " + "; ".join(
            f"{kind}: {html.escape(str(folder))}" for kind, folder in self.catalog.folders))
        selected = self.selected_entry()
        self.list.blockSignals(True)
        self.list.clear()
        for entry in self.catalog.entries:
            mark = "●" if entry is self.catalog.current else ("✓" if entry.usable else "⚠")
            item = QListWidgetItem(f"{mark}  {entry.name}   ({entry.folder_kind})")
            item.setToolTip(str(entry.path) if entry.usable else entry.error)
            if not entry.usable:
                item.setForeground(QBrush(QColor("#f85149")))
            self.list.addItem(item)
        self.list.blockSignals(False)
        if not self.catalog.entries:
            self.details.setHtml("<p>No models found. Put <code>.onnx</code> files in <code>models_onnx/</code> "
                                 "or your model folder, add one with <i>Add model file…</i>, or train one "
                                 "(Model ▸ Train a new model…).</p>")
            return
        keep = selected or self.catalog.current or self.catalog.entries[0]
        if selected is None and self.catalog.current is not None:
            keep = self.catalog.current
        row = self.catalog.entries.index(keep) if keep in self.catalog.entries else 0
        self.list.setCurrentRow(row)
        self._update_details()

    def selected_entry(self) -> ModelEntry | None:
        row = self.list.currentRow()
        entries = self.catalog.entries
        return entries[row] if 0 <= row < len(entries) else None

    def _update_details(self) -> None:
        entry = self.selected_entry()
        self.use_button.setEnabled(bool(entry and entry.usable and entry is not self.catalog.current))
        self.details.setHtml(describe(entry) if entry else "")

    # ---- view -> catalog -------------------------------------------------------------
    def _on_list_row_changed(self, row: int) -> None:
        self._update_details()

    def use_selected(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return
        try:
            self.catalog.select(entry.path)
        except ModelLoadError as exc:
            self.status_message.emit(str(exc))
            return
        self.status_message.emit(f"Using model {entry.name}")

    def _on_add_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a model", str(Path.home()), "ONNX models (*.onnx)")
        if path:
            self.add_model(path)

    def add_model(self, path: str | Path) -> ModelEntry:
        entry = self.catalog.add_file(path)
        self.list.setCurrentRow(self.catalog.entries.index(entry))
        if entry.usable:
            self.use_selected()
        else:
            self.status_message.emit(entry.error or "This model cannot be used")
        return entry


def describe(entry: ModelEntry) -> str:
    """HTML details for one model: metadata, or the reason it cannot be used."""
    esc = html.escape
    if not entry.usable:
        return (f"<h3>{esc(entry.name)}</h3><p style='color:#f85149'><b>Cannot be used.</b> "
                f"{esc(entry.error or '')}</p><p><small>{esc(str(entry.path))}</small></p>")
    meta = entry.meta
    raw = meta.raw
    rows = [("Architecture", meta.architecture), ("Sample rate", f"{meta.sample_rate_hz} Hz"),
            ("Clip length", f"{meta.clip_s:g} s"), ("Task", raw.get("task", "")),
            ("Created", meta.created_utc), ("File", str(entry.path))]
    parts = [f"<h3>{esc(entry.name)}</h3><table cellspacing=2>"]
    parts += [f"<tr><td><b>{esc(k)}</b></td><td>{esc(str(v))}</td></tr>" for k, v in rows if v]
    parts.append("</table>")
    parts.append(f"<p><b>Labels ({len(meta.labels)}):</b> {esc(', '.join(meta.labels))}</p>")
    for title, key in (("Training data", "training_data"), ("Split", "split"), ("Metrics", "metrics")):
        value = raw.get(key)
        if value:
            parts.append(f"<p><b>{title}</b></p>{_table(value)}")
    if "seeds" in raw:
        parts.append(f"<p><b>Seeds:</b> {esc(', '.join(map(str, raw['seeds'])))}</p>")
    return "".join(parts)


def _table(value) -> str:
    if not isinstance(value, dict):
        return f"<p>{html.escape(_short(value))}</p>"
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_short(v))}</td></tr>"
                   for k, v in value.items())
    return f"<table cellspacing=2 style='margin-left:8px'>{rows}</table>"


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 300 else text[:297] + "…"

