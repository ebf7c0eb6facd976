"""Page 2: a grouped, stratified split (by fold, speaker, source clip or a column), hold-out or
k-fold, with the leakage audit's result. The split shown is the split trained on: the
preview is ``trainer.api.preview_split`` (computed in a worker thread, so the window never
waits), made by the same code with the same seed that trains; hold-out validation groups
(or the fold) are passed to the job explicitly."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QSpinBox,
    QTextEdit,
    QVBoxLayout,
    QWizardPage,
)

from engine.datasets.grouping import group_columns, grouping_note
from gui.wizard.background import BackgroundJobs
from gui.wizard.data_page import ERROR_STYLE, _wrapping_label
from gui.wizard.session import TrainSession
from trainer import api


class SplitPage(QWizardPage):
    def __init__(self, session: TrainSession, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.setTitle("2 · Split")
        self.setSubTitle("Every clip's group stays on one side; the leakage audit must find nothing.")
        self.column_combo = QComboBox()
        self.holdout_radio = QRadioButton("hold-out")
        self.kfold_radio = QRadioButton("k-fold")
        self.holdout_radio.setChecked(True)
        self._modes = QButtonGroup(self)
        self._modes.addButton(self.holdout_radio)
        self._modes.addButton(self.kfold_radio)
        self.fraction_spin = QDoubleSpinBox(minimum=0.05, maximum=0.5, singleStep=0.05,
                                            value=session.split.val_fraction)
        self.k_spin = QSpinBox(minimum=2, maximum=10, value=session.split.k)
        self.fold_combo = QComboBox()
        self.audit_label = QLabel("")
        self.audit_label.setWordWrap(True)
        self.error_label = _wrapping_label(ERROR_STYLE)
        self.details = QTextEdit(readOnly=True)
        modes = QHBoxLayout()
        modes.addWidget(self.holdout_radio)
        modes.addWidget(self.kfold_radio)
        modes.addStretch(1)
        form = QFormLayout()
        form.addRow("Group clips by", self.column_combo)
        form.addRow("Scheme", modes)
        form.addRow("Validation fraction", self.fraction_spin)
        form.addRow("Folds (k)", self.k_spin)
        form.addRow("Validation fold", self.fold_combo)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.audit_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self.details, 1)
        self.jobs = BackgroundJobs(self)
        self.jobs.delivered.connect(self._on_jobs_delivered)
        self.jobs.failed.connect(self._on_jobs_failed)
        for signal in (self.column_combo.currentIndexChanged, self.holdout_radio.toggled,
                       self.fraction_spin.valueChanged, self.k_spin.valueChanged, self.fold_combo.currentIndexChanged):
            signal.connect(self._on_choice_changed)

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        manifest = self.session.manifest
        self.column_combo.blockSignals(True)
        self.column_combo.clear()
        for key, text in group_columns(manifest).items():
            self.column_combo.addItem(text, key)
        index = self.column_combo.findData(self.session.split.column)
        self.column_combo.setCurrentIndex(max(0, index))
        self.column_combo.blockSignals(False)
        self.fold_combo.blockSignals(True)
        self.fold_combo.clear()
        for fold in sorted({c.fold for c in manifest.clips if c.fold is not None}):
            self.fold_combo.addItem(f"fold {fold}", fold)
        self.fold_combo.setCurrentIndex(self.fold_combo.count() - 1)
        self.fold_combo.blockSignals(False)
        self._on_choice_changed()

    # ---- view -> model --------------------------------------------------------------------------
    def _on_choice_changed(self, *_args) -> None:
        choice = self.session.split
        choice.column = self.column_combo.currentData() or choice.column
        choice.mode = "kfold" if self.kfold_radio.isChecked() else "holdout"
        choice.val_fraction = float(self.fraction_spin.value())
        choice.k = int(self.k_spin.value())
        choice.val_fold = self.fold_combo.currentData()
        try:
            request = api.SplitRequest(self.session.grouped_manifest(), choice.column, choice.mode,
                                       choice.val_fraction, choice.k, choice.val_fold, choice.seed)
        except ValueError as exc:
            self.session.set_split_report(None)
            self._update_error(str(exc))
        else:
            self.session.set_split_report(None)
            self._update_pending()
            self.jobs.submit_job("split", self.session.trainer_job("preview_split", cancel_grace_s=1.0), request,
                                 what="The split preview")
        self.completeChanged.emit()

    # ---- worker -> model (GUI thread) ------------------------------------------------------------
    def _on_jobs_delivered(self, kind: str, report) -> None:
        self.session.set_split_report(report)
        self._update_report(report)
        self.completeChanged.emit()

    def _on_jobs_failed(self, kind: str, message: str) -> None:
        self.session.set_split_report(None)
        self._update_error(message)
        self.completeChanged.emit()

    def busy(self) -> bool:
        return self.jobs.busy("split")

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        return self.jobs.shutdown(timeout_s)

    # ---- model -> view --------------------------------------------------------------------------
    def _update_controls(self) -> None:
        by_fold = self.session.split.column == "fold"
        kfold = self.session.split.mode == "kfold"
        self.fraction_spin.setEnabled(not by_fold and not kfold)
        self.k_spin.setEnabled(not by_fold and kfold)
        self.fold_combo.setEnabled(by_fold and not kfold)

    def _update_pending(self) -> None:
        self._update_controls()
        self.error_label.setText("")
        self.audit_label.setText("Splitting and auditing for leakage…")

    def _update_error(self, message: str) -> None:
        self._update_controls()
        self.error_label.setText(f"This split cannot be used: {message}")
        self.audit_label.setText("")
        self.details.clear()

    def _update_report(self, report: dict[str, Any]) -> None:
        self._update_controls()
        self.error_label.setText("")
        leaks = report["leakage_count"]
        verdict = ("<span style='color:#22863a'>✔ Leakage audit: no group, source file or shared audio on both "
                   "sides</span>"
                   if leaks == 0 else
                   f"<span style='color:#d73a49'>✘ Leakage audit: {leaks} clips share groups across the split"
                   "</span>")
        sizes = report["sizes"]
        head = (f"{len(report['folds'])} folds; first fold: " if report["folds"] else "") + \
            f"{sizes['train']} training / {sizes['val']} validation / {sizes.get('test', 0)} test clips " \
            "(test: reported only; validation: chooses the epoch)"
        note = grouping_note(self.session.manifest, self.session.split.column)
        self.audit_label.setText(f"{head}<br>{verdict}" + (f"<br>{html.escape(note)}" if note else ""))
        self.details.setPlainText("\n".join(_fold_lines(report, self.session.manifest.labels)))

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        report = self.session.split_report
        return report is not None and report["leakage_count"] == 0


def _fold_lines(report: dict[str, Any], labels: list[str]) -> list[str]:
    lines = []
    for i, fold in enumerate(report["folds"] or [report], start=1):
        lines.append(f"Split {i}: test = {_where(fold, 'test')}; validation = {_where(fold, 'val')}")
        lines.append("  class: train / val / test")
        for label in labels:
            lines.append(f"  {label}: {fold['train_class_counts'].get(label, 0)} / "
                         f"{fold['val_class_counts'].get(label, 0)} / {fold.get('test_class_counts', {}).get(label, 0)}")
        for side, name in (("val", "validation"), ("test", "test")):
            missing = [label for label in labels if not fold.get(f"{side}_class_counts", {}).get(label)]
            if missing:
                lines.append(f"  ⚠ no {name} clips for: {', '.join(missing)}")
    return lines


def _where(fold: dict[str, Any], side: str) -> str:
    if fold.get(f"{side}_fold") is not None:
        return f"fold {fold[f'{side}_fold']}"
    groups = fold.get(f"{side}_groups", [])
    return ", ".join(groups[:12]) + (" …" if len(groups) > 12 else "")
