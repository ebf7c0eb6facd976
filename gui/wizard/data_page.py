"""Page 1: pick a folder or a CSV, detect its layout, show class counts, warn, refuse with a reason."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWizardPage,
)

from engine.datasets.edits import edits_path
from engine.errors import EarmarkError

if TYPE_CHECKING:   # the session needs trainer.api; past runs open without the trainer
    from gui.wizard.session import TrainSession

ERROR_STYLE = "color: #d73a49;"
WARN_STYLE = "color: #b08800;"


class DataPage(QWizardPage):
    def __init__(self, session: TrainSession, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.setTitle("1 · Data")
        self.setSubTitle("A folder (ESC-50, EmoDB, a folder per class) or a CSV with path,label[,group][,fold].")
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("data set folder or CSV file")
        self.path_edit.editingFinished.connect(self._on_path_entered)  # Enter, Tab or a click elsewhere
        self.path_edit.installEventFilter(self)
        folder_button = QPushButton("Folder…")
        folder_button.clicked.connect(self._on_folder_clicked)
        csv_button = QPushButton("CSV…")
        csv_button.clicked.connect(self._on_csv_clicked)
        # the answers marked wrong in the Live tab, as a data set (engine/datasets/corrections.py)
        self.corrections_button = QPushButton("Corrections")
        self.corrections_button.setToolTip("Clips you marked as answered wrongly in the Live tab (W), per model")
        self.corrections_menu = QMenu(self.corrections_button)
        self.corrections_menu.aboutToShow.connect(self._update_corrections_menu)
        self.corrections_button.setMenu(self.corrections_menu)
        self.edits_check = QCheckBox("Use audited labels (earmark-labels.json) when present")
        self.edits_check.setChecked(True)
        self.edits_check.toggled.connect(self._on_path_entered)
        self.layout_label = QLabel("")
        self.error_label = _wrapping_label(ERROR_STYLE)
        self.warning_label = _wrapping_label(WARN_STYLE)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["class", "clips"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.verticalHeader().setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(folder_button)
        row.addWidget(csv_button)
        row.addWidget(self.corrections_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.edits_check)
        layout.addWidget(self.layout_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self.warning_label)
        layout.addWidget(self.table, 1)

    # ---- view -> model --------------------------------------------------------------------------
    def _on_folder_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Data set folder", self.path_edit.text())
        if folder:
            self.choose(folder)

    def _on_csv_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Data set CSV", self.path_edit.text(), "CSV (*.csv)")
        if path:
            self.choose(path)

    def _update_corrections_menu(self) -> None:
        from engine.datasets.corrections import correction_sets

        self.corrections_menu.clear()
        sets = correction_sets()
        for name, path, n in sets:
            action = self.corrections_menu.addAction(f"{name}: {n} clip(s) marked wrong")
            action.triggered.connect(lambda _checked=False, p=path: self.choose(p))
        if not sets:
            self.corrections_menu.addAction("None yet: press W in the Live tab when an answer is wrong").setEnabled(False)
    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        """Enter on a path not read yet reads it and stays here, so the class counts and warnings
        are seen; Enter on the path already read goes on (the wizard's Next)."""
        if (watched is self.path_edit and event.type() == QEvent.Type.KeyPress
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._path_is_new()):
            self._on_path_entered()
            return True
        return super().eventFilter(watched, event)

    def _path_is_new(self) -> bool:
        text = self.path_edit.text().strip()
        return bool(text) and (self.session.source is None or Path(text) != self.session.source)

    def _on_path_entered(self, *_args) -> None:
        if self._path_is_new() or (self.sender() is self.edits_check and self.path_edit.text().strip()):
            self.choose(self.path_edit.text().strip())

    def choose(self, path: str | Path) -> bool:
        """Read the data set at ``path``; show why when it cannot be used. True when usable."""
        self.path_edit.setText(str(path))
        try:
            self.session.load_data(path, use_edits=self.edits_check.isChecked())
        except EarmarkError as exc:
            self.session.clear_data()
            self._update_error(str(exc))
        except OSError as exc:
            self.session.clear_data()
            self._update_error(f"{path}: cannot be read ({exc})")
        else:
            self._update_summary()
        self.completeChanged.emit()
        return self.isComplete()

    # ---- model -> view --------------------------------------------------------------------------
    def _update_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.warning_label.setText("")
        self.layout_label.setText("")
        self.table.setRowCount(0)

    def _update_summary(self) -> None:
        manifest, summary = self.session.manifest, self.session.summary
        has_edits = edits_path(manifest.data_root).is_file()
        self.edits_check.setEnabled(has_edits)
        self.layout_label.setText(
            f"Layout: <b>{manifest.layout}</b> · {len(manifest.clips)} clips · {len(manifest.labels)} classes · "
            f"{len({c.group for c in manifest.clips})} split groups"
            + (" · audited labels available" if has_edits else ""))
        self.error_label.setText("\n".join(summary.errors))
        self.warning_label.setText("\n".join(f"⚠ {w}" for w in summary.warnings))
        counts = summary.counts
        self.table.setRowCount(len(counts))
        for row, (label, n) in enumerate(counts.items()):
            self.table.setItem(row, 0, QTableWidgetItem(label))
            self.table.setItem(row, 1, QTableWidgetItem(str(n)))

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return self.session.manifest is not None and self.session.summary is not None \
            and self.session.summary.usable


def _wrapping_label(style: str) -> QLabel:
    label = QLabel("")
    label.setWordWrap(True)
    label.setStyleSheet(style)
    return label
