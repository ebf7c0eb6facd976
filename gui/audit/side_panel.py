"""Beside the table: the selected clip (plots), its label picker, the model's verdict, messages."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gui.audit.clip_panel import ClipPanel
from gui.audit.keys import KEYS_HELP

ERROR_STYLE = "color: #f85149;"
NOTICE_STYLE = "color: #d29922;"


class ClipSidePanel(QWidget):
    label_picked = Signal(str)      # the person chose a label in the picker
    saliency_toggled = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.clip_panel = ClipPanel()
        self.clip_label = QLabel("No clip selected")
        self.clip_label.setWordWrap(True)
        self.label_picker = QComboBox()
        self.label_picker.setToolTip("Relabel the selected clip")
        self.label_picker.activated.connect(self._on_picker_activated)
        self.prediction_label = QLabel()
        self.prediction_label.setWordWrap(True)
        self.saliency_check = QCheckBox("Show where the model looked (saliency)")
        self.saliency_check.setChecked(True)
        self.saliency_check.toggled.connect(self.saliency_toggled)
        self.autoplay_check = QCheckBox("Play on select")
        self.autoplay_check.setToolTip("Play each clip as it is selected (Space plays/stops)")
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        keys = QLabel(KEYS_HELP)
        keys.setWordWrap(True)
        keys.setStyleSheet("color: #8b949e;")
        picker_row = QHBoxLayout()
        picker_row.addWidget(QLabel("Label:"))
        picker_row.addWidget(self.label_picker, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.clip_panel, 1)
        layout.addWidget(self.clip_label)
        layout.addLayout(picker_row)
        checks = QHBoxLayout()
        checks.addWidget(self.saliency_check)
        checks.addWidget(self.autoplay_check)
        checks.addStretch(1)
        layout.addWidget(self.prediction_label)
        layout.addLayout(checks)
        for widget in (self.message_label, keys):
            layout.addWidget(widget)

    def set_labels(self, labels: list[str]) -> None:
        self.label_picker.blockSignals(True)
        self.label_picker.clear()
        for i, label in enumerate(labels):
            self.label_picker.addItem(f"{i + 1}  {label}" if i < 9 else label, label)
        self.label_picker.blockSignals(False)

    def _on_picker_activated(self, index: int) -> None:
        label = self.label_picker.itemData(index)
        if label:
            self.label_picked.emit(label)

    def show_clip(self, key: str | None, label: str = "", original: str = "", group: str = "",
                  flags: tuple[str, ...] = (), verdict: str = "") -> None:
        if key is None:
            self.clip_label.setText("No clip selected")
            self.prediction_label.clear()
            return
        was = f" (was {original})" if label != original else ""
        self.clip_label.setText(f"<b>{key}</b><br>label <b>{label}</b>{was} · group {group} · "
                                f"flags: {', '.join(flags) or 'none'}")
        self.label_picker.blockSignals(True)
        self.label_picker.setCurrentIndex(max(0, self.label_picker.findData(label)))
        self.label_picker.blockSignals(False)
        self.prediction_label.setText(verdict)

    def show_session_clip(self, session) -> None:
        """The session's current clip: its label, flags and the model's verdict."""
        key = session.current_key
        clip = None if key is None else session.clip(key)
        if clip is None:
            self.show_clip(None)
            return
        label, pred, s = session.label_of(key), session.predicted(key), session.suspicion.get(key)
        verdict = "" if pred is None else (
            f"Suspect #{s.rank}{' — likely label issue' if s.is_issue else ''}: the model says "
            f"<b>{pred[0]}</b> ({pred[1]:.0%}); {label} gets {pred[2]:.0%}")
        if s is not None and not s.judged:
            verdict = (f"Not judged (#{s.rank}): every clip of {clip.original_label} comes from one source "
                       "recording, so no model heard the class in training; its low score says nothing about "
                       "the label")
        self.show_clip(key, label, clip.original_label, clip.group, session.flags_of(key), verdict)

    def show_error(self, message: str) -> None:
        self.message_label.setStyleSheet(ERROR_STYLE)
        self.message_label.setText(message)

    def clear_error(self) -> None:
        """Clear an error (a clip that then loaded fine); a notice stays until the next one."""
        if self.message_label.styleSheet() == ERROR_STYLE:
            self.message_label.clear()

    def show_notice(self, message: str) -> None:
        self.message_label.setStyleSheet(NOTICE_STYLE)
        self.message_label.setText(message)
