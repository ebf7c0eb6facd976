"""Page 4: backbone, input size, pretrained weights, epochs, learning rate, batch size, seeds, device.

Defaults are the recipe's (``trainer.api.TrainRequest``) and suit the machine: a small CNN
on the CPU, a ResNet-18 where a CUDA GPU exists. The backbones and the device come from
``trainer.api.warm_up``, which the wizard runs in a worker thread when it opens (it loads
torch); until it reports, the page says so and cannot be left.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWizardPage,
)

from engine.errors import EarmarkError
from gui.wizard.data_page import ERROR_STYLE, _wrapping_label
from gui.wizard.session import ModelChoice, TrainSession
from trainer import api

PRETRAINED_CHECK_S = 60.0
SETTING = "wizard/model"  # the model page's choices of the last run, as JSON


def machine_defaults(best_device: str = "cpu") -> ModelChoice:
    """A model choice that trains in reasonable time here: the recipe's, a ResNet-18 on a GPU."""
    if best_device == "cuda":
        return replace(ModelChoice(), name="resnet18", batch_size=64, device="cuda")
    return replace(ModelChoice(), device="cpu")


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"42 123, 999"`` -> (42, 123, 999); ValueError saying what is wrong."""
    parts = [p for p in text.replace(",", " ").split() if p]
    if not parts:
        raise ValueError("give at least one seed (an integer)")
    try:
        seeds = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"seeds must be integers separated by spaces, got {text!r}") from None
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must differ, got {list(seeds)}")
    return seeds


class ModelPage(QWizardPage):
    def __init__(self, session: TrainSession, parent=None, *, settings=None) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = settings  # gui.settings.Settings: the last run's choices come back
        self.setTitle("4 · Model")
        self.setSubTitle("SE and CBAM are attention variants of ResNet. Pretrained weights are used only "
                         "where a local copy exists; nothing is downloaded.")
        self.environment: api.TrainingEnvironment | None = None
        self._models: dict[str, api.ModelSummary] = {}
        defaults = machine_defaults()
        self.model_combo = QComboBox()
        self.model_combo.addItem(defaults.name)
        self.model_combo.setEnabled(False)
        self.model_combo.currentTextChanged.connect(self._on_model_changed)
        self.auto_size_check = QCheckBox("automatic (from the model and clip length)")
        self.auto_size_check.setChecked(True)
        self.height_spin = QSpinBox(minimum=8, maximum=512, value=64)
        self.width_spin = QSpinBox(minimum=8, maximum=1024, value=64)
        self.auto_size_check.toggled.connect(self._update_size_enabled)
        self.pretrained_check = QCheckBox("start from ImageNet weights")
        self.pretrained_check.setEnabled(False)
        self.epochs_spin = QSpinBox(minimum=1, maximum=1000, value=defaults.epochs)
        self.lr_spin = QDoubleSpinBox(minimum=1e-6, maximum=1.0, decimals=6, singleStep=1e-4, value=defaults.lr)
        self.batch_spin = QSpinBox(minimum=1, maximum=4096, value=defaults.batch_size)
        self.seeds_edit = QLineEdit(" ".join(str(s) for s in defaults.seeds))
        self.device_combo = QComboBox()
        self.device_combo.addItem(defaults.device)
        self.status_label = QLabel("Loading the training packages…")
        self.error_label = _wrapping_label(ERROR_STYLE)
        size = QHBoxLayout()
        size.addWidget(self.auto_size_check)
        size.addWidget(self.height_spin)
        size.addWidget(self.width_spin)
        form = QFormLayout()
        form.addRow("Backbone", self.model_combo)
        form.addRow("Input size (mels × frames)", size)
        form.addRow("Pretrained", self.pretrained_check)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Learning rate", self.lr_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Seeds", self.seeds_edit)
        form.addRow("Device", self.device_combo)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        self._update_size_enabled()

    def set_environment(self, environment: api.TrainingEnvironment) -> None:
        """The backbones and devices ``trainer.api.warm_up`` found (GUI thread)."""
        self.environment = environment
        self._models = {m.name: m for m in environment.models}
        defaults = machine_defaults(environment.best_device)
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItems(list(self._models))
        self.model_combo.blockSignals(False)
        self.model_combo.setEnabled(True)
        self.device_combo.clear()
        self.device_combo.addItems(list(environment.devices))
        self.device_combo.setCurrentText(defaults.device)
        self.batch_spin.setValue(defaults.batch_size)
        self.model_combo.setCurrentText(defaults.name)
        self._on_model_changed(defaults.name)
        self._restore_choice()
        self.status_label.setText("")
        self.completeChanged.emit()

    def _restore_choice(self) -> None:
        """The choices of the last run trained here, where this machine still offers them."""
        try:
            saved = json.loads(self.settings.get(SETTING) or "{}") if self.settings is not None else {}
        except (TypeError, ValueError):
            saved = {}
        if not isinstance(saved, dict) or saved.get("name") not in self._models:
            return
        self.model_combo.setCurrentText(saved["name"])
        for spin, key in ((self.epochs_spin, "epochs"), (self.batch_spin, "batch_size")):
            if isinstance(saved.get(key), int):
                spin.setValue(saved[key])
        if isinstance(saved.get("lr"), (int, float)):
            self.lr_spin.setValue(float(saved["lr"]))
        if isinstance(saved.get("seeds"), list) and saved["seeds"]:
            self.seeds_edit.setText(" ".join(str(s) for s in saved["seeds"]))
        if saved.get("device") in [self.device_combo.itemText(i) for i in range(self.device_combo.count())]:
            self.device_combo.setCurrentText(saved["device"])
        if self.pretrained_check.isEnabled():
            self.pretrained_check.setChecked(bool(saved.get("pretrained")))
        size = saved.get("input_size")
        if isinstance(size, list) and len(size) == 2:
            self.set_input_size(int(size[0]), int(size[1]))

    def _save_choice(self, choice: ModelChoice) -> None:
        if self.settings is not None:
            self.settings.set(SETTING, json.dumps(asdict(choice)))

    def set_environment_failed(self, message: str) -> None:
        self.status_label.setText("")
        self.error_label.setText(f"The training packages could not be loaded: {message}")

    def ready(self) -> bool:
        return self.environment is not None

    def _update_size_enabled(self, *_args) -> None:
        manual = not self.auto_size_check.isChecked()
        self.height_spin.setEnabled(manual)
        self.width_spin.setEnabled(manual)

    def _on_model_changed(self, name: str) -> None:
        info = self._models.get(name)
        if info is None:
            return
        self.pretrained_check.setEnabled(info.has_pretrained)
        if not info.has_pretrained:
            self.pretrained_check.setChecked(False)
        self.height_spin.setMinimum(info.min_input_size)
        self.width_spin.setMinimum(info.min_input_size)

    def set_input_size(self, height: int, width: int) -> None:
        self.auto_size_check.setChecked(False)
        self.height_spin.setValue(height)
        self.width_spin.setValue(width)

    def choice(self) -> ModelChoice:
        """The settings as a ModelChoice; ValueError naming the field that is wrong."""
        auto = self.auto_size_check.isChecked()
        return ModelChoice(
            name=self.model_combo.currentText(),
            input_size=None if auto else (self.height_spin.value(), self.width_spin.value()),
            pretrained=self.pretrained_check.isChecked(), epochs=self.epochs_spin.value(),
            lr=float(self.lr_spin.value()), batch_size=self.batch_spin.value(),
            seeds=parse_seeds(self.seeds_edit.text()), device=self.device_combo.currentText())

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return self.ready()

    def validatePage(self) -> bool:  # noqa: N802 - Qt API
        if not self.ready():
            return False
        try:
            choice = self.choice()
            if choice.pretrained:
                # in the training process (torch): the weights load there, never in this process
                self.session.trainer.call_function("trainer.api:check_pretrained", choice.name,
                                                   timeout_s=PRETRAINED_CHECK_S)
        except (ValueError, EarmarkError) as exc:
            self.error_label.setText(str(exc))
            return False
        self.error_label.setText("")
        self.session.model = choice
        self._save_choice(choice)
        return True
