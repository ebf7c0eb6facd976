"""The per-class threshold editor: each class's threshold, and the precision and recall it implies
on the predictions the thresholds were fitted on (a model's out-of-fold predictions).

Saving keeps the person's thresholds outside the model file (engine/models/thresholds.py), so the
File, Live and Annotate tabs and ``main.py classify`` all apply them; "Model's own" goes back to
what the model file carries.
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QLabel,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from engine.errors import SaveError
from engine.models.metadata import meta_thresholds
from engine.models.thresholds import RULE, Thresholds, save_user_thresholds, user_thresholds_path

COLUMNS = ("class", "threshold", "precision", "recall")


class ThresholdsDialog(QDialog):
    def __init__(self, classifier, parent=None) -> None:
        super().__init__(parent)
        self.classifier = classifier
        self.setWindowTitle(f"Thresholds — {classifier.path.name}")
        labels = classifier.meta.labels
        own = meta_thresholds(classifier.meta, classifier.path)
        self.thresholds = classifier.thresholds or own or Thresholds({label: 0.0 for label in labels}, RULE)
        fitted = self.thresholds.fitted_on or "nothing (this model carries no fitted thresholds)"
        intro = QLabel(f"A class is named only when its score reaches its threshold; otherwise the answer is "
                       f"“nothing recognised”. Precision and recall are those the thresholds imply on "
                       f"{html.escape(fitted)}.")
        intro.setWordWrap(True)
        self.table = QTableWidget(len(labels), len(COLUMNS))
        self.table.setHorizontalHeaderLabels([c.capitalize() for c in COLUMNS])
        self.table.verticalHeader().setVisible(False)
        self.spins: dict[str, QDoubleSpinBox] = {}
        for row, label in enumerate(labels):
            self.table.setItem(row, 0, QTableWidgetItem(label))
            spin = QDoubleSpinBox()
            spin.setRange(0.0, 1.0)
            spin.setDecimals(2)
            spin.setSingleStep(0.05)
            spin.setValue(self.thresholds.threshold(label))
            spin.valueChanged.connect(lambda _v, r=row, name=label: self._update_row(r, name))
            self.spins[label] = spin
            self.table.setCellWidget(row, 1, spin)
            self._update_row(row, label)
        self.table.resizeColumnsToContents()
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel | QDialogButtonBox.RestoreDefaults)
        buttons.button(QDialogButtonBox.RestoreDefaults).setText("Model's own")
        buttons.button(QDialogButtonBox.RestoreDefaults).setEnabled(own is not None)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.RestoreDefaults).clicked.connect(lambda: self._set_all(own))
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(520, 420)

    def edited(self) -> Thresholds:
        thresholds = self.thresholds
        for label, spin in self.spins.items():
            thresholds = thresholds.with_threshold(label, spin.value())
        return thresholds

    def save(self) -> None:
        thresholds = self.edited()
        try:
            save_user_thresholds(self.classifier.path, thresholds)
        except (OSError, SaveError) as exc:
            QMessageBox.warning(self, "Thresholds not saved",
                                f"Could not save to {user_thresholds_path(self.classifier.path)}: {exc}")
            return
        self.classifier.thresholds = thresholds
        self.accept()

    def _set_all(self, thresholds: Thresholds | None) -> None:
        for label, spin in self.spins.items():
            spin.setValue(thresholds.threshold(label) if thresholds else 0.0)

    def _update_row(self, row: int, label: str) -> None:
        implied = self.thresholds.implied(label, self.spins[label].value()) if label in self.spins else None
        texts = ("—", "—") if implied is None else (f"{implied[0]:.2f}", f"{implied[1]:.2f}")
        for column, text in zip((2, 3), texts, strict=True):
            self.table.setItem(row, column, QTableWidgetItem(text))
