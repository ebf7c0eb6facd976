"""The Record box of the live view: folder, format, sample format, start/stop, and what is (or was) recorded.

Recordings keep the input as captured: its rate and its channels (both channels of a stereo
input, from :attr:`engine.live.sources.MicSource.channel_rings`), in the sample format chosen.
Every choice is remembered as soon as it is made, not only after a first recording.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
)

from engine.errors import SaveError
from engine.live.recorder import SUBTYPES, SUBTYPES_OF, Recorder, describe_format
from engine.live.ringbuffer import RingBuffer
from gui.widgets.layout import with_tool_button


class RecordPanel(QGroupBox):
    status_message = Signal(str)
    failed = Signal(str)

    def __init__(self, settings, parent=None) -> None:
        super().__init__("Record", parent)
        self.settings = settings
        self.recorder: Recorder | None = None
        self._ring: RingBuffer | None = None
        self._rings: list[RingBuffer] = []
        self._rate_hz = 0
        self.folder_edit = QLineEdit(settings.get("record/folder"))
        self.folder_edit.editingFinished.connect(self._on_choice_changed)
        row = with_tool_button(self.folder_edit, "…", "Choose the folder recordings go to",
                               self._on_browse_clicked)
        self.format_combo = QComboBox()
        self.format_combo.addItems(list(SUBTYPES_OF))
        self.format_combo.setCurrentText(settings.get("record/format"))
        self.format_combo.setToolTip("The file format of recordings")
        self.subtype_combo = QComboBox()
        self.subtype_combo.setToolTip("Bits per sample (32-bit float: WAV only)")
        self._fill_subtypes(settings.get("record/subtype"))
        self.format_combo.currentTextChanged.connect(self._on_format_changed)
        self.subtype_combo.currentIndexChanged.connect(self._on_choice_changed)
        formats = QHBoxLayout()
        formats.addWidget(self.format_combo)
        formats.addWidget(self.subtype_combo, 1)
        self.record_button = QPushButton("Record")
        self.record_button.setToolTip("Record the input to a timestamped file in the folder (Ctrl+R)")
        self.record_button.setCheckable(True)
        self.record_button.setEnabled(False)
        self.record_button.toggled.connect(self._on_record_toggled)
        self.format_label = QLabel()
        self.format_label.setWordWrap(True)
        self.format_label.setStyleSheet("color: #8b949e;")
        self.record_label = QLabel()
        self.record_label.setWordWrap(True)
        layout = QFormLayout(self)
        layout.addRow("Folder", row)
        layout.addRow("Format", formats)
        layout.addRow(self.record_button)
        layout.addRow(self.format_label)
        layout.addRow(self.record_label)
        self._update_format_label()

    # ---- choices (remembered at once) -----------------------------------------------------
    def _fill_subtypes(self, wanted: str) -> None:
        self.subtype_combo.blockSignals(True)
        self.subtype_combo.clear()
        for subtype in SUBTYPES_OF.get(self.format_combo.currentText(), ("PCM_16",)):
            self.subtype_combo.addItem(SUBTYPES[subtype], subtype)
        self.subtype_combo.setCurrentIndex(max(0, self.subtype_combo.findData(wanted)))
        self.subtype_combo.blockSignals(False)

    def _on_format_changed(self, _fmt: str) -> None:
        self._fill_subtypes(self.subtype_combo.currentData())
        self._on_choice_changed()

    def _on_choice_changed(self, *_args) -> None:
        self.settings.set("record/folder", self.folder_edit.text())
        self.settings.set("record/format", self.format_combo.currentText())
        self.settings.set("record/subtype", self.subtype_combo.currentData())
        self._update_format_label()

    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for recordings", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)
            self._on_choice_changed()

    @property
    def channels(self) -> int:
        return len(self._rings) or 1

    def _update_format_label(self) -> None:
        if self._ring is None:
            self.format_label.setText("")
            return
        what = describe_format(self.channels, self._rate_hz, self.format_combo.currentText(),
                               self.subtype_combo.currentData())
        self.format_label.setText(f"Records {what}, as captured")

    # ---- input -------------------------------------------------------------------------------
    def attach(self, ring: RingBuffer | None, sample_rate_hz: int = 0, source=None) -> None:
        """Record from ``ring`` (or the channels of ``source``) from now on (None: the input stopped)."""
        if ring is None:
            self.stop_recording()
        self._ring, self._rate_hz = ring, sample_rate_hz
        rings = list(getattr(source, "channel_rings", None) or ([ring] if ring is not None else []))
        self._rings = rings if ring is not None else []
        self.record_button.setEnabled(ring is not None)
        self._update_format_label()

    # ---- recording ------------------------------------------------------------------------------
    def _on_record_toggled(self, checked: bool) -> None:
        self.start_recording() if checked else self.stop_recording()

    def toggle(self) -> None:
        self.stop_recording() if self.recorder is not None else self.start_recording()

    def start_recording(self) -> bool:
        if self._ring is None or self.recorder is not None:
            return False
        self._on_choice_changed()
        recorder = Recorder(self._rings or [self._ring], self._rate_hz, self.folder_edit.text(),
                            fmt=self.format_combo.currentText(), subtype=self.subtype_combo.currentData())
        try:
            path = recorder.start()
        except SaveError as exc:
            self.record_button.setChecked(False)
            self.failed.emit(str(exc))
            return False
        self.recorder = recorder
        self.record_button.setChecked(True)
        self.record_button.setText("Stop recording")
        self.status_message.emit(f"Recording {recorder.description} to {path}")
        return True

    def stop_recording(self) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return
        try:
            path = recorder.stop()
            self.status_message.emit(f"Saved {recorder.duration_s:.1f} s ({recorder.description}) to {path}")
            self.record_label.setText(f"Saved {path.name}: {recorder.duration_s:.1f} s, {recorder.description}")
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
        self.record_label.setText(f"● {self.recorder.duration_s:.1f} s → {self.recorder.path.name} "
                                  f"({self.recorder.description})")
