"""Page 7: put the run's ONNX model (metadata inside) into the user model folder and use it now.

A finished run's ``model.onnx`` is copied; a cancelled run's best checkpoint is exported first
(``trainer.api.export_checkpoint``: the model says it comes from a cancelled run). Both happen in
a background job (:class:`gui.workers.job_worker.JobWorker`), never on the GUI thread. Before
exporting, a person is asked to confirm when the model is near chance (the rule is in
:mod:`gui.wizard.figures`) or comes from a cancelled run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWizardPage,
)

from engine.atomic import atomic_write_bytes
from engine.errors import EarmarkError, SaveError
from engine.jobs import CancelToken, Progress, ignore_progress
from engine.models.catalog import ModelCatalog
from engine.models.classifier import OnnxClassifier
from engine.userdirs import user_model_dir
from gui.wizard.data_page import ERROR_STYLE, _wrapping_label
from gui.wizard.figures import near_chance_warning
from gui.wizard.runs import kept_checkpoints, read_metrics
from gui.workers.job_worker import JobWorker

if TYPE_CHECKING:   # the session needs trainer.api; past runs open without the trainer
    from gui.wizard.session import TrainSession


def export_model(run_dir: Path, name: str, folder: Path | None = None, *, source: Path | None = None) -> Path:
    """Copy ``source`` (default ``run_dir/model.onnx``) to ``folder/<name>.onnx`` atomically and check it loads."""
    return _copy_model(Path(source or Path(run_dir) / "model.onnx"), name, folder)[0]


def _copy_model(source: Path, name: str, folder: Path | None) -> tuple[Path, dict[str, Any]]:
    if not source.is_file():
        raise SaveError(f"{source}: the run has no exported model")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name.strip()).strip("._")
    if not safe:
        raise SaveError(f"{name!r} is not usable as a file name: use letters, digits, '-', '_' or '.'")
    target = Path(folder or user_model_dir()) / f"{safe}.onnx"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, source.read_bytes())
    except OSError as exc:
        raise SaveError(f"Cannot write the model {target}: {exc.strerror or exc}") from exc
    model = OnnxClassifier.load(target, threads=1)  # the copy must load, metadata and all (ModelLoadError)
    return target, dict(model.meta.raw)


def needs_salvage(run_dir: Path | None) -> bool:
    """A stopped run: no model.onnx, but a kept checkpoint to export."""
    return run_dir is not None and not (Path(run_dir) / "model.onnx").is_file() and bool(kept_checkpoints(run_dir))


@dataclass(frozen=True)
class ExportRequest:
    run_dir: Path
    name: str
    folder: Path | None = None


@dataclass(frozen=True)
class ExportResult:
    path: Path
    cancelled_note: str = ""        # "exported from a cancelled run (epoch N, seed S): figures incomplete"


def export_job(request: ExportRequest, *, on_progress=ignore_progress, cancel: CancelToken | None = None) -> ExportResult:
    """The export as an engine.jobs job: a cancelled run's checkpoint first, then the copy and its check."""
    cancel = cancel or CancelToken()
    source = request.run_dir / "model.onnx"
    if needs_salvage(request.run_dir):
        from trainer import api  # in the worker thread: torch loads here, never on the GUI thread

        source = api.export_checkpoint(request.run_dir, on_progress=on_progress, cancel=cancel)
    cancel.raise_if_cancelled("the export")
    on_progress(Progress("copy", 0, 1, f"copying the model into {request.folder or user_model_dir()}"))
    target, meta = _copy_model(source, request.name, request.folder)
    note = str(meta.get("note") or "exported from a cancelled run: figures incomplete") if meta.get("cancelled") else ""
    return ExportResult(target, note)


def ask_yes_no(parent, title: str, text: str) -> bool:
    box = QMessageBox(QMessageBox.Warning, title, text, QMessageBox.Yes | QMessageBox.No, parent)
    box.setDefaultButton(QMessageBox.No)
    return box.exec() == QMessageBox.Yes


def confirm_export(parent, run_dir: Path, metrics: dict[str, Any] | None,
                   ask: Callable[[Any, str, str], bool] = ask_yes_no) -> bool:
    """Ask before exporting a model from a cancelled run or one near chance; True to go on."""
    if needs_salvage(run_dir):
        return ask(parent, "Export a model from a cancelled run?",
                   "This is a cancelled run, stopped before its test figures: the model is its best checkpoint so far, chosen "
                   "by validation loss only, and its figures are incomplete (its file will say so).\n\nExport it "
                   "anyway?")
    warning = near_chance_warning(metrics if metrics is not None else (read_metrics(run_dir) or {}))
    return warning is None or ask(parent, "Export a model near chance?", warning)


def done_text(result: ExportResult) -> str:
    if result.cancelled_note:
        return (f"✔ Saved {result.path}, {result.cancelled_note}. The live view now uses "
                f"<b>{result.path.stem}</b>.")
    return f"✔ Saved {result.path}. The live view now uses <b>{result.path.stem}</b>."


class ExportPage(QWizardPage):
    exported = Signal(object)      # the Path written, once it is the live model
    export_failed = Signal(str)

    def __init__(self, session: TrainSession, catalog: ModelCatalog | None, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.catalog = catalog
        self.ask = ask_yes_no      # the confirmation before a near-chance or cancelled run's export
        self.worker: JobWorker | None = None
        self._finish_after = False
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
            stopped = "-cancelled" if needs_salvage(run_dir) else ""
            self.name_edit.setText(f"{self.session.model.name}-{layout}-{run_dir.name[:15]}{stopped}")
        self.folder_label.setText(str(user_model_dir()))
        if needs_salvage(run_dir):
            self.done_label.setText("This run was cancelled: its best checkpoint will be exported first "
                                    "(figures incomplete).")

    def busy(self) -> bool:
        return self.worker is not None and self.worker.is_running()

    def export(self) -> JobWorker | None:
        """Confirm if needed, then export in the background; ``exported`` says when the model is live."""
        if self.busy() or self.session.run_dir is None:
            return None
        if not confirm_export(self, self.session.run_dir, self.session.metrics, self.ask):
            self._finish_after = False
            self.done_label.setText("Not exported.")
            return None
        request = ExportRequest(self.session.run_dir, self.name_edit.text())
        self.worker = JobWorker(export_job, request, what="Exporting the model", owner=self)
        self.worker.progressed.connect(self._on_worker_progressed)
        self.worker.finished.connect(self._on_worker_finished)
        self.worker.failed.connect(self._on_worker_failed)
        self.worker.cancelled.connect(self._on_worker_failed)
        self.error_label.setText("")
        self.done_label.setText("Exporting…")
        self.export_button.setEnabled(False)
        self.worker.start()
        return self.worker

    def shutdown(self, timeout_s: float = 10.0) -> bool:
        return self.worker is None or self.worker.close(timeout_s)

    def cleanupPage(self) -> None:  # noqa: N802 - Qt API  (Back: stop an export under way)
        self.shutdown()

    # ---- worker -> view (GUI thread) ------------------------------------------------------------
    def _on_worker_progressed(self, progress) -> None:
        if progress.message:
            self.done_label.setText(f"Exporting… {progress.message}")

    def _on_worker_finished(self, result: ExportResult) -> None:
        self.export_button.setEnabled(True)
        try:
            if self.catalog is not None:
                self.catalog.refresh()
                self.catalog.select(result.path)
        except (EarmarkError, OSError, ValueError) as exc:
            self._on_worker_failed(str(exc))
            return
        self.session.exported = result.path
        self.done_label.setText(done_text(result))
        self.exported.emit(result.path)
        if self._finish_after and self.wizard() is not None:
            self._finish_after = False
            self.wizard().accept()

    def _on_worker_failed(self, message: str) -> None:
        self.export_button.setEnabled(True)
        self._finish_after = False
        self.done_label.setText("")
        self.error_label.setText(message)
        self.export_failed.emit(message)

    def validatePage(self) -> bool:  # noqa: N802 - Qt API  (Finish exports when not done yet, then closes)
        if self.session.exported is not None:
            return True
        if not self.busy():
            self._finish_after = True
            self.export()
        else:
            self._finish_after = True
        return False
