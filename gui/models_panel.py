"""The models panel: every model found, its labels, training data and metrics, or why it is refused."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine.errors import ModelLoadError
from engine.models.catalog import ModelCatalog, ModelEntry


class CatalogBridge(QObject):
    """Runs what the catalog's background thread posts on the GUI thread (a queued hop), so
    every catalog event, and every view that listens to it, runs on the GUI thread."""

    _posted = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._posted.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def post(self, fn) -> None:  # any thread
        self._posted.emit(fn)

    def _run(self, fn) -> None:  # the GUI thread
        fn()


class ModelsPanel(QWidget):
    status_message = Signal(str)

    def __init__(self, catalog: ModelCatalog, parent=None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.bridge = CatalogBridge(self)
        catalog.set_dispatcher(self.bridge.post)
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
        reload_button.clicked.connect(lambda: self.catalog.refresh())
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Take this model off the list (a broken file is moved aside only "
                                      "if you delete it; the file itself is never changed)")
        self.remove_button.clicked.connect(self.remove_selected)
        self.thresholds_button = QPushButton("Thresholds…")
        self.thresholds_button.setToolTip("Each class's threshold: under it the model says 'nothing recognised'")
        self.thresholds_button.clicked.connect(self.edit_thresholds)
        buttons = QGridLayout()  # two columns: a row of four made the dock (and the window) too wide for a laptop
        for i, button in enumerate((self.use_button, add, self.remove_button, reload_button, self.thresholds_button)):
            buttons.addWidget(button, i // 2, i % 2)
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
            if entry.pending:
                item = QListWidgetItem(f"…  {entry.name}   ({entry.folder_kind}, checking)")
                item.setToolTip(f"{entry.path}: being checked")
                self.list.addItem(item)
                continue
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
        self.remove_button.setEnabled(bool(entry and not entry.pending and entry is not self.catalog.current))
        self.thresholds_button.setEnabled(bool(entry and entry.usable))
        self.details.setHtml(describe(entry) if entry else "")

    # ---- view -> catalog -------------------------------------------------------------
    def _on_list_row_changed(self, row: int) -> None:
        self._update_details()

    def edit_thresholds(self):
        """Open the threshold editor for the selected model (the dialog, shown; None when unusable)."""
        from gui.widgets.thresholds_dialog import ThresholdsDialog

        entry = self.selected_entry()
        if entry is None or not entry.usable:
            return None
        dialog = ThresholdsDialog(entry.classifier, self)
        dialog.finished.connect(lambda _result: self._update_details())
        dialog.open()
        return dialog

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

    def remove_selected(self) -> None:
        """Take the selected entry off the list (not the current model; the file is kept)."""
        entry = self.selected_entry()
        if entry is None or entry.pending or entry is self.catalog.current:
            return
        self.catalog.remove(entry.path)
        self.status_message.emit(f"Removed {entry.name} from the list (the file is unchanged)")

    def _on_add_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a model", str(Path.home()), "ONNX models (*.onnx)")
        if path:
            self.add_model_in_background(path)

    def add_model_in_background(self, path: str | Path) -> ModelEntry:
        """Add a file chosen by the person: listed at once, vetted off the GUI thread, used
        when it proves usable, its reason shown when not."""
        entry = self.catalog.add_file(path, background=True, select=True)
        if entry in self.catalog.entries:
            self.list.setCurrentRow(self.catalog.entries.index(entry))
        self.status_message.emit(f"Checking {entry.name}…" if entry.pending else
                                 (entry.error or f"Using model {entry.name}"))
        return entry

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
    if entry.pending:
        return (f"<h3>{esc(entry.name)}</h3><p>Checking this model (a first run with a time and "
                f"memory limit)…</p><p><small>{esc(str(entry.path))}</small></p>")
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


def _table(value, depth: int = 0) -> str:
    """Readable HTML for a metadata value: nested tables for objects, short lists inline."""
    if isinstance(value, dict) and depth < 3:
        rows = "".join(f"<tr><td>{html.escape(_key(k))}</td><td>{_cell(v, depth)}</td></tr>"
                       for k, v in list(value.items())[:60])
        return f"<table cellspacing=2 style='margin-left:8px'>{rows}</table>"
    return f"<p>{_cell(value, depth)}</p>"


def _cell(value, depth: int) -> str:
    if isinstance(value, dict) and depth < 2:
        return _table(value, depth + 1)
    return html.escape(_short(value))


def _key(key) -> str:
    return str(key).replace("_", " ")


def _short(value) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "—"}[value]
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (list, tuple)) for v in value):  # a matrix
            text = "; ".join(" ".join(_short(x) for x in row) for row in value)
        else:
            text = ", ".join(_short(v) for v in value)
    elif isinstance(value, dict):
        text = ", ".join(f"{_key(k)}: {_short(v)}" for k, v in value.items())
    else:
        text = str(value)
    return text if len(text) <= 300 else text[:297] + "…"
