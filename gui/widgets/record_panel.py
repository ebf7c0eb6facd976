"""The Record box of the live view: folder, format, start/stop, and what is being written."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
)

from engine.errors import SaveError
from engine.recorder import Recorder
from engine.ringbuffer import RingBuffer
from gui.widgets.layout import with_tool_button


class RecordPanel(QGroupBox):
    status_message = Signal(str)
    failed = Signal(str)

    def __init__(self, settings, parent=None) -> None:
        super().__init__("Record", parent)
        self.settings = settings
        self.recorder: Recorder | None = None
        self._ring: RingBuffer | None = None
        self._rate_hz = 0
        self.folder_edit = QLineEdit(settings.get("record/folder"))
        row = with_tool_button(self.folder_edit, "…", "Choose the folder recordings go to",
                               self._on_browse_clicked)
        self.format_combo = QComboBox()
        self.format_combo.addItems(["wav", "flac"])
        self.format_combo.setCurrentText(settings.get("record/format"))
        self.record_button = QPushButton("Record")
        self.record_button.setToolTip("Record the input to a timestamped file in the folder (Ctrl+R)")
        self.record_button.setCheckable(True)
        self.record_button.setEnabled(False)
        self.record_button.toggled.connect(self._on_record_toggled)
        self.record_label = QLabel()
        self.record_label.setWordWrap(True)
        layout = QFormLayout(self)
        layout.addRow("Folder", row)
        layout.addRow("Format", self.format_combo)
        layout.addRow(self.record_button)
        layout.addRow(self.record_label)

    def attach(self, ring: RingBuffer | None, sample_rate_hz: int = 0) -> None:
        """Record from ``ring`` from now on (None: the input stopped)."""
        if ring is None:
            self.stop_recording()
        self._ring, self._rate_hz = ring, sample_rate_hz
        self.record_button.setEnabled(ring is not None)

    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for recordings", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _on_record_toggled(self, checked: bool) -> None:
        self.start_recording() if checked else self.stop_recording()

    def toggle(self) -> None:
        self.stop_recording() if self.recorder is not None else self.start_recording()

    def start_recording(self) -> bool:
        if self._ring is None or self.recorder is not None:
            return False
        folder, fmt = self.folder_edit.text(), self.format_combo.currentText()
        self.settings.set("record/folder", folder)
        self.settings.set("record/format", fmt)
        recorder = Recorder(self._ring, self._rate_hz, folder, fmt=fmt)
        try:
            path = recorder.start()
        except SaveError as exc:
            self.record_button.setChecked(False)
            self.failed.emit(str(exc))
            return False
        self.recorder = recorder
        self.record_button.setChecked(True)
        self.record_button.setText("Stop recording")
        self.status_message.emit(f"Recording to {path}")
        return True

    def stop_recording(self) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return
        try:
            path = recorder.stop()
            self.status_message.emit(f"Saved {recorder.duration_s:.1f} s to {path}")
            self.record_label.setText(f"Saved {path.name}")
        except SaveError as exc:
            self.record_label.setText(str(exc))
            self.failed.emit(str(exc))
        self.record_button.setText("Record")
        self.record_button.setChecked(False)

    def poll(self) -> None:
        """Called by the view's display timer: show progress, stop on a write error."""
        if self.recorder is None:
            return
        if self.recorder.error is not None:
            self.stop_recording()
            return
        self.record_label.setText(f"● {self.recorder.duration_s:.1f} s → {self.recorder.path.name}")
