"""The Audit tab's two bars: actions (open, rank, model, undo/redo, export) and filters with class counts."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QWidget

from engine.datasets.manifest import LAYOUTS
from gui.audit.table import SHOW_ALL, SHOW_CHOICES
from gui.widgets.elided_label import ElidedLabel

ALL_LABELS = "All labels"
AUTO_LAYOUT = "auto"


class AuditActionBar(QWidget):
    """Buttons only; the view connects them. ``layout_choice`` is None for auto-detection."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        bar = QHBoxLayout(self)
        bar.setContentsMargins(0, 0, 0, 0)
        self.open_button = self._button(bar, "Open data set…", "A folder (ESC-50, EmoDB, folder per class) or a CSV")
        self.layout_combo = QComboBox()
        self.layout_combo.addItems([AUTO_LAYOUT, *LAYOUTS])
        self.layout_combo.setToolTip("Data layout (auto: detected)")
        bar.addWidget(self.layout_combo)
        self.rank_button = self._button(bar, "Rank suspects",
                                        "Cross-validate a quick model (or use the chosen model) and rank "
                                        "clips by how likely their label is wrong (cleanlab)")
        self.cancel_button = self._button(bar, "Cancel", "Stop ranking")
        self.model_button = self._button(bar, "Use model…", "Score with a trained .onnx model instead of "
                                                            "cross-validation")
        self.undo_button = self._button(bar, "Undo", "Ctrl+Z")
        self.redo_button = self._button(bar, "Redo", "Ctrl+Shift+Z")
        self.export_button = self._button(bar, "Export corrected CSV…",
                                          "path,label,group[,fold] for `main.py train --layout csv`")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setVisible(False)
        bar.addWidget(self.progress)
        bar.addStretch(1)
        self.source_label = ElidedLabel("Open a data set to audit its labels")  # never widens the window
        bar.addWidget(self.source_label)

    @staticmethod
    def _button(bar, text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        bar.addWidget(button)
        return button

    @property
    def layout_choice(self) -> str | None:
        text = self.layout_combo.currentText()
        return None if text == AUTO_LAYOUT else text


class AuditFilterBar(QWidget):
    changed = Signal()  # label, text or state filter changed

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        bar = QHBoxLayout(self)
        bar.setContentsMargins(0, 0, 0, 0)
        self.label_filter = QComboBox()
        self.text_filter = QLineEdit()
        self.text_filter.setPlaceholderText("Filter by text (file, speaker, label, flag…)")
        self.show_filter = QComboBox()
        self.show_filter.addItems(SHOW_CHOICES)
        for widget in (self.label_filter, self.text_filter, self.show_filter):
            bar.addWidget(widget)
        self.label_filter.currentTextChanged.connect(self.changed)
        self.text_filter.textChanged.connect(self.changed)
        self.show_filter.currentTextChanged.connect(self.changed)
        self.counts_label = QLabel()
        self.counts_label.setWordWrap(True)
        bar.addWidget(self.counts_label, 1)

    def set_labels(self, labels: list[str]) -> None:
        self.label_filter.blockSignals(True)
        self.label_filter.clear()
        self.label_filter.addItems([ALL_LABELS, *labels])
        self.label_filter.blockSignals(False)

    def values(self) -> dict:
        label = self.label_filter.currentText()
        return {"label": None if label in ("", ALL_LABELS) else label, "text": self.text_filter.text(),
                "show": self.show_filter.currentText() or SHOW_ALL}

    def show_counts(self, counts: dict[str, int], shown: int, total: int) -> None:
        text = " · ".join(f"{label} {n}" for label, n in counts.items())
        self.counts_label.setText(f"{shown} of {total} shown — {text}")
