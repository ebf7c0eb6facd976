"""Page 7: copy the run's ONNX model (metadata inside) into the user model folder and use it now."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWizardPage

from engine.atomic import atomic_write_bytes
from engine.catalog import ModelCatalog
from engine.errors import EarmarkError, SaveError
from engine.model import OnnxClassifier, user_model_dir
from gui.wizard.data_page import ERROR_STYLE, _wrapping_label

if TYPE_CHECKING:   # the session needs trainer.api; past runs open without the trainer
    from gui.wizard.session import TrainSession


def export_model(run_dir: Path, name: str, folder: Path | None = None) -> Path:
    """Copy ``run_dir/model.onnx`` to ``folder/<name>.onnx`` atomically and check it loads."""
    source = Path(run_dir) / "model.onnx"
    if not source.is_file():
        raise SaveError(f"{source}: the run has no exported model")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name.strip()).strip("._")
    if not safe:
        raise SaveError(f"{name!r} is not usable as a file name: use letters, digits, '-', '_' or '.'")
    target = Path(folder or user_model_dir()) / f"{safe}.onnx"
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, source.read_bytes())
    OnnxClassifier.load(target, threads=1)  # the copy must load, metadata and all (ModelLoadError)
    return target


class ExportPage(QWizardPage):
    def __init__(self, session: TrainSession, catalog: ModelCatalog | None, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.catalog = catalog
        self.setTitle("7 · Export")
        self.setSubTitle("The model file carries its labels, sample rate, split, seeds and metrics.")
        self.name_edit = QLineEdit()
        self.folder_label = QLabel(str(user_model_dir()))
        self.folder_label.setWordWrap(True)
        self.export_button = QPushButton("Export and use in the live view")
        self.export_button.clicked.connect(self.export)
        self.done_label = QLabel("")
        self.done_label.setWordWrap(True)
        self.error_label = _wrapping_label(ERROR_STYLE)
        form = QFormLayout()
        form.addRow("Model name", self.name_edit)
        form.addRow("Folder", self.folder_label)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.export_button)
        layout.addWidget(self.done_label)
        layout.addWidget(self.error_label)
        layout.addStretch(1)

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        run_dir = self.session.run_dir
        layout = (self.session.metrics or {}).get("layout", "data")
        if run_dir is not None and not self.name_edit.text():
            self.name_edit.setText(f"{self.session.model.name}-{layout}-{run_dir.name[:15]}")
        self.folder_label.setText(str(user_model_dir()))

    def export(self) -> Path | None:
        """Write the model and make it the current one in the catalog (so the live view uses it)."""
        try:
            target = export_model(self.session.run_dir, self.name_edit.text())
            if self.catalog is not None:
                self.catalog.refresh()
                self.catalog.select(target)
        except EarmarkError as exc:
            self.error_label.setText(str(exc))
            return None
        except OSError as exc:
            self.error_label.setText(f"Cannot write the model: {exc}")
            return None
        self.session.exported = target
        self.error_label.setText("")
        self.done_label.setText(f"✔ Saved {target}. The live view now uses <b>{target.stem}</b>.")
        return target

    def validatePage(self) -> bool:  # noqa: N802 - Qt API  (Finish exports when not done yet)
        return self.session.exported is not None or self.export() is not None
