"""The Input box of the live view: device list, Start/Stop, level meter, inline errors.

It also opens the chosen input: a device through PortAudio (at the model's rate, else at
the device's own rate) or, for machines without a microphone, an audio file played in a
loop in real time.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGroupBox, QLabel, QPushButton, QVBoxLayout

from engine.errors import AudioDeviceError
from engine.ringbuffer import RingBuffer
from engine.sources import MicSource, list_input_devices
from gui.widgets.layout import with_tool_button
from gui.widgets.level_meter import LevelMeter

NO_DEVICE = "No input device found"
SOURCE_ITEM = "<source>"
FILE_ITEM = "<file>"
FILE_INPUT = "Play an audio file as the input…"
RATE_ROLE = Qt.ItemDataRole.UserRole + 1


class InputPanel(QGroupBox):
    def __init__(self, settings, parent=None) -> None:
        super().__init__("Input", parent)
        self.settings = settings
        self.device_combo = QComboBox()
        self.device_combo.setToolTip("The microphone or line input to listen to")
        # a long device name must not widen the column (and so the window); the list shows it whole
        self.device_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.device_combo.setMinimumContentsLength(12)
        row = with_tool_button(self.device_combo, "↻", "Look for input devices again", self.refresh_devices)
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Start or stop listening (Ctrl+L)")
        self.meter = LevelMeter()
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("color: #f85149;")
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.start_button)
        layout.addWidget(self.meter)
        layout.addWidget(self.message_label)

    @property
    def wants_file(self) -> bool:
        return self.device_combo.currentData() == FILE_ITEM

    def refresh_devices(self) -> None:
        self.device_combo.clear()
        try:
            devices = list_input_devices()
        except AudioDeviceError as exc:
            self.message_label.setText(str(exc))
            devices = []
        for device in devices:
            self.device_combo.addItem(str(device), device.index)
            self.device_combo.setItemData(self.device_combo.count() - 1, device.default_sample_rate_hz, RATE_ROLE)
        if not devices:
            self.device_combo.addItem(NO_DEVICE, None)
        self.device_combo.addItem(FILE_INPUT, FILE_ITEM)
        saved = self.settings.get("live/device")
        index = self.device_combo.findText(saved) if saved else -1
        default = next((i for i, d in enumerate(devices) if d.is_default), 0)
        self.device_combo.setCurrentIndex(index if index >= 0 and saved != FILE_INPUT else default)

    def open_mic(self, rate: int, ring_s: float) -> tuple[RingBuffer, MicSource, int]:
        """Start the chosen device at ``rate``, else at the device's own rate (the stream resamples)."""
        device = self.device_combo.currentData()
        if device is None and self.device_combo.currentText() == NO_DEVICE:
            raise AudioDeviceError("No microphone found. Connect an input device, press ↻, then Start "
                                   "(or choose “Play an audio file as the input…”).")
        self.settings.set("live/device", self.device_combo.currentText())
        own_rate = self.device_combo.currentData(RATE_ROLE)
        rates = [rate] + ([int(own_rate)] if own_rate and int(own_rate) != rate else [])
        first_error = None
        for candidate in rates:
            ring = RingBuffer(int(candidate * ring_s))
            source = MicSource(ring, candidate, device=device)
            try:
                source.start()
            except AudioDeviceError as exc:
                first_error = first_error or exc
                continue
            return ring, source, candidate
        raise first_error  # type: ignore[misc]

    def set_running(self, running: bool, source_name: str | None = None) -> None:
        """Lock the list while listening; name a custom source (a file) at its top meanwhile."""
        if running and source_name:
            self.device_combo.insertItem(0, source_name, SOURCE_ITEM)
            self.device_combo.setCurrentIndex(0)
        if not running and self.device_combo.itemData(0) == SOURCE_ITEM:
            self.refresh_devices()
        self.start_button.setText("Stop" if running else "Start")
        self.device_combo.setEnabled(not running)
        if not running:
            self.meter.reset()
