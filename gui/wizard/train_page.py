"""Page 5: train in a background worker with a progress bar, ETA, stage, live curves and Cancel."""

from __future__ import annotations

import html
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWizard,
    QWizardPage,
)

from gui.wizard.data_page import ERROR_STYLE, WARN_STYLE, _wrapping_label
from gui.wizard.plan import TrainPlan
from gui.wizard.runs import kept_checkpoints, update_status
from gui.wizard.session import TrainSession
from gui.wizard.train_worker import TrainWorker

STAGES = {"prepare": "Reading the data", "split": "Splitting and auditing for leakage",
          "cache": "Computing features (cached for next time)", "train": "Training",
          "evaluate": "Evaluating", "export": "Exporting to ONNX", "done": "Done"}
NORMAL_BUTTONS = [QWizard.CustomButton1, QWizard.Stretch, QWizard.BackButton, QWizard.NextButton, QWizard.CommitButton,
                  QWizard.FinishButton, QWizard.CancelButton]
TRAINING_BUTTONS = [QWizard.CustomButton1, QWizard.Stretch, QWizard.NextButton, QWizard.CancelButton]   # no Back while training
MAX_WARNINGS_SHOWN = 5
COLOURS = ("#58a6ff", "#f78166", "#56d364", "#d2a8ff", "#e3b341", "#79c0ff")


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"ETA {seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"ETA {seconds // 60} min {seconds % 60:02d} s"
    return f"ETA {seconds} s"


class CurvesPanel(pg.GraphicsLayoutWidget):
    """Loss (train solid, validation dashed) and validation accuracy per seed, one point per epoch."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("#101114")
        self.loss_plot = self.addPlot(title="loss")
        self.loss_plot.addLegend(offset=(-10, 10))
        self.loss_plot.setLabel("bottom", "epoch")
        self.acc_plot = self.addPlot(title="validation accuracy")
        self.acc_plot.setLabel("bottom", "epoch")
        self.acc_plot.setYRange(0.0, 1.0)
        self.series: dict[str, dict[str, list[float]]] = {}
        self.curves: dict[str, tuple] = {}

    def clear_curves(self) -> None:
        self.series.clear()
        for train, val, acc in self.curves.values():
            for item, plot in ((train, self.loss_plot), (val, self.loss_plot), (acc, self.acc_plot)):
                plot.removeItem(item)
        self.curves.clear()
        if self.loss_plot.legend is not None:
            self.loss_plot.legend.clear()

    def add_epoch(self, key: str, record) -> None:
        data = self.series.get(key)
        if data is not None and data["epoch"] and record["epoch"] <= data["epoch"][-1]:
            key = f"{key}·{sum(k.startswith(key) for k in self.series) + 1}"   # a new fold restarts epochs
            data = None
        if data is None:
            data = self.series[key] = {"epoch": [], "train_loss": [], "val_loss": [], "val_acc": []}
            colour = COLOURS[(len(self.series) - 1) % len(COLOURS)]
            self.curves[key] = (
                self.loss_plot.plot(pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5, name=f"{key} train"),
                self.loss_plot.plot(pen=pg.mkPen(colour, width=2, style=pg.QtCore.Qt.DashLine), name=f"{key} val"),
                self.acc_plot.plot(pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5))
        for name in data:
            data[name].append(float(record[name]))
        train, val, acc = self.curves[key]
        train.setData(data["epoch"], data["train_loss"])
        val.setData(data["epoch"], data["val_loss"])
        acc.setData(data["epoch"], data["val_acc"])

    def n_points(self) -> int:
        return sum(len(d["epoch"]) for d in self.series.values())


class TrainPage(QWizardPage):
    def __init__(self, session: TrainSession, parent=None, *, runs_root: Path | None = None,
                 job_overrides: dict | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runs_root = runs_root
        self.job_overrides = dict(job_overrides or {})
        self.setTitle("5 · Train")
        self.setSubTitle("Training runs in the background; Cancel stops it within a second or two and keeps "
                         "the best checkpoint so far, which can still be exported (figures incomplete).")
        self.worker: TrainWorker | None = None
        self.plan: TrainPlan | None = None
        self.state = "idle"              # idle | running | finished | cancelled | failed
        self.stage_label = QLabel("")
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.eta_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.start_button = QPushButton("Train again")
        self.start_button.clicked.connect(self.start)
        self.error_label = _wrapping_label(ERROR_STYLE)
        self.warnings_label = _wrapping_label(WARN_STYLE)   # the job's typed warnings (skipped clips)
        self.warnings: list[str] = []
        self.curves = CurvesPanel()
        bar = QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.eta_label)
        bar.addWidget(self.cancel_button)
        bar.addWidget(self.start_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.stage_label)
        layout.addLayout(bar)
        layout.addWidget(self.message_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self.warnings_label)
        layout.addWidget(self.curves, 1)
        self._update_buttons()

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        if self.state in ("idle", "cancelled", "failed") or self.session.run_dir is None:
            self.start()

    def cleanupPage(self) -> None:  # noqa: N802 - Qt API  (Back: stop what runs)
        self.shutdown()

    # ---- view -> model --------------------------------------------------------------------------
    def start(self) -> None:
        if self.worker is not None and self.worker.is_running():
            return
        self.session.set_run(None, None)
        self.plan = TrainPlan(self.session, runs_root=self.runs_root, job_overrides=self.job_overrides)
        run_dir = self.plan.prepare()
        self.worker = TrainWorker(self.plan, parent=self)
        self.worker.progressed.connect(self._on_worker_progressed)
        self.worker.finished.connect(self._on_worker_finished)
        self.worker.failed.connect(self._on_worker_failed)
        self.worker.cancelled.connect(self._on_worker_cancelled)
        self.curves.clear_curves()
        self.error_label.setText("")
        self.warnings = []
        self._update_warnings()
        self.message_label.setText(f"Run folder: {run_dir}")
        self.progress.setValue(0)
        self._set_state("running")
        self.worker.start()

    def _on_cancel_clicked(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.stage_label.setText("<b>Cancelling…</b>")
            self.cancel_button.setEnabled(False)

    def shutdown(self, timeout_s: float = 10.0) -> bool:
        """Cancel and join the worker (the wizard closes or goes back)."""
        if self.worker is None:
            return True
        ended = self.worker.close(timeout_s)
        if ended and self.state == "running":
            self._set_state("cancelled")
        return ended

    # ---- worker -> view (GUI thread) ------------------------------------------------------------
    def _on_worker_progressed(self, progress) -> None:
        self.stage_label.setText(f"<b>{STAGES.get(progress.stage, progress.stage)}</b>{self._where(progress)}")
        self.message_label.setText(progress.message)
        if progress.eta_s is not None:
            self.eta_label.setText(format_eta(progress.eta_s))
        fraction = progress.fraction if progress.fraction is not None else self._fraction(progress)
        self.progress.setValue(max(self.progress.value(), int(1000 * fraction)))   # never backwards
        metrics = progress.metrics or {}
        if "val_loss" in metrics and progress.seed is not None:
            self.curves.add_epoch(f"seed {progress.seed}", metrics)
        new = [w.message for w in progress.warnings if w.message not in self.warnings]
        if new:
            self.warnings += new
            self._update_warnings()

    def _update_warnings(self) -> None:
        shown = self.warnings[:MAX_WARNINGS_SHOWN]
        more = len(self.warnings) - len(shown)
        text = "<br>".join(f"⚠ {html.escape(m)}" for m in shown) + (f"<br>… and {more} more" if more else "")
        self.warnings_label.setText(text)
        self.warnings_label.setVisible(bool(self.warnings))

    def _where(self, p) -> str:
        seeds = self.session.model.seeds
        if p.stage != "train" or p.seed not in seeds:
            return ""
        return (f" · seed {p.seed} ({seeds.index(p.seed) + 1} of {len(seeds)}) · "
                f"epoch {p.epoch} of {self.session.model.epochs}")

    def _fraction(self, p) -> float:
        model = self.session.model
        if p.stage in ("prepare", "split"):
            return 0.0
        if p.stage == "cache":
            return 0.05 * p.step / max(1, p.total)
        if p.stage == "train" and p.seed in model.seeds:
            seed_index = model.seeds.index(p.seed)
            within = p.step / max(1, p.total) if "val_loss" not in (p.metrics or {}) else 1.0
            epochs_done = (p.epoch or 1) - 1 + within
            return 0.05 + 0.9 * (seed_index * model.epochs + epochs_done) / (len(model.seeds) * model.epochs)
        if p.stage in ("evaluate", "export"):
            return max(self.progress.value() / 1000, 0.95)
        return 1.0 if p.stage == "done" else self.progress.value() / 1000

    def _on_worker_finished(self, result) -> None:
        self.worker.wait(5.0)
        update_status(result["run_dir"], "finished")
        self.session.set_run(Path(result["run_dir"]), result["metrics"])
        self.progress.setValue(1000)
        self.eta_label.setText("")
        self._set_state("finished")

    def _on_worker_failed(self, message: str) -> None:
        self.worker.wait(5.0)
        if self.plan is not None and self.plan.run_dir is not None:
            update_status(self.plan.run_dir, "failed", message)
        self.error_label.setText(f"Training failed: {message}")
        self._set_state("failed")

    def _on_worker_cancelled(self, message: str) -> None:
        self.worker.wait(5.0)
        run_dir = self.plan.run_dir if self.plan is not None else None
        kept = sorted(run_dir.glob("**/best.pt")) if run_dir is not None else []
        if run_dir is not None:
            update_status(run_dir, "cancelled", message)
        where = ", ".join(str(p.relative_to(run_dir)) for p in kept) if kept else "none yet (no epoch had ended)"
        self.message_label.setText(f"Cancelled. Best checkpoint kept: {where} in {run_dir}"
                                   + (". Next shows what is known and exports it (figures incomplete)." if kept else ""))
        if kept:
            self.session.set_run(run_dir, None)     # exportable: results and export pages read the run folder
        self._set_state("cancelled")

    def _set_state(self, state: str) -> None:
        self.state = state
        if state != "running":
            self.eta_label.setText("")          # an ETA is only true while training runs
        self.stage_label.setText({"running": "<b>Starting…</b>", "finished": "<b>Done</b>",
                                  "cancelled": "<b>Cancelled</b>", "failed": "<b>Failed</b>"}.get(
            state, self.stage_label.text()))
        self._update_buttons()
        self.completeChanged.emit()

    def _update_buttons(self) -> None:
        running = self.state == "running"
        self.cancel_button.setEnabled(running)
        self.start_button.setVisible(self.state in ("cancelled", "failed"))
        wizard = self.wizard()
        if wizard is not None:
            wizard.setButtonLayout(TRAINING_BUTTONS if running else NORMAL_BUTTONS)

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        """Finished, or stopped with a checkpoint on disk (the export page exports that)."""
        if self.state == "cancelled":
            return self.session.run_dir is not None and bool(kept_checkpoints(self.session.run_dir))
        return self.state == "finished"
