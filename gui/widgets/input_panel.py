"""The Input box of the live view: device list, capture choices, Start/Stop, level meter, inline errors.

It also opens the chosen input: a device through PortAudio, at the model's rate or the
device's own (each falling back to the other), in mono or in stereo where the device has
two channels (the model hears their mix; the recorder gets both), and says what it opened.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from engine.errors import AudioDeviceError
from engine.live.ringbuffer import RingBuffer
from engine.live.sources import MicSource, list_input_devices
from gui.widgets.layout import with_tool_button
from gui.widgets.level_meter import LevelMeter

NO_DEVICE = "No input device found"
SOURCE_ITEM = "<source>"
FILE_ITEM = "<file>"
FILE_INPUT = "Play an audio file as the input…"
RATE_ROLE = Qt.ItemDataRole.UserRole + 1
CHANNELS_ROLE = Qt.ItemDataRole.UserRole + 2
CAPTURE_CHOICES = (("model", "Model's rate", "Capture at the model's sample rate (no resampling)"),
                   ("device", "Device's rate", "Capture at the device's own rate (recordings keep it; "
                                               "the model hears it resampled)"))
CHANNEL_CHOICES = ((2, "Stereo", "Both channels where the device has two: recordings keep both, "
                                 "the model hears their mix"),
                   (1, "Mono", "One channel"))


def capture_text(channels: int, rate_hz: int, model_rate_hz: int) -> str:
    """What the input delivers and what the model hears, in a line."""
    layout = "stereo (2 channels)" if channels == 2 else ("mono" if channels == 1 else f"{channels} channels")
    heard = ("; the model hears their mono mix" if channels > 1 else "")
    resampled = f", resampled to {model_rate_hz} Hz for the model" if model_rate_hz and model_rate_hz != rate_hz else ""
    return f"Capturing {layout} at {rate_hz} Hz{heard}{resampled}."


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
        self.capture_combo = QComboBox()
        for key, text, tip in CAPTURE_CHOICES:
            self.capture_combo.addItem(text, key)
            self.capture_combo.setItemData(self.capture_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.capture_combo.setCurrentIndex(max(0, self.capture_combo.findData(settings.get("live/capture"))))
        self.channels_combo = QComboBox()
        for n, text, tip in CHANNEL_CHOICES:
            self.channels_combo.addItem(text, n)
            self.channels_combo.setItemData(self.channels_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.channels_combo.setCurrentIndex(max(0, self.channels_combo.findData(settings.get("live/channels"))))
        self.capture_combo.currentIndexChanged.connect(self._on_capture_changed)
        self.channels_combo.currentIndexChanged.connect(self._on_capture_changed)
        choices = QHBoxLayout()
        choices.addWidget(self.capture_combo, 1)
        choices.addWidget(self.channels_combo)
        self.capture_label = QLabel()
        self.capture_label.setWordWrap(True)
        self.capture_label.setStyleSheet("color: #8b949e;")
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Start or stop listening (Ctrl+L)")
        self.meter = LevelMeter()
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("color: #f85149;")
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addLayout(choices)
        layout.addWidget(self.start_button)
        layout.addWidget(self.meter)
        layout.addWidget(self.capture_label)
        layout.addWidget(self.message_label)

    def _on_capture_changed(self) -> None:
        self.settings.set("live/capture", self.capture_combo.currentData())
        self.settings.set("live/channels", int(self.channels_combo.currentData()))

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
            self.device_combo.setItemData(self.device_combo.count() - 1, device.max_input_channels, CHANNELS_ROLE)
        if not devices:
            self.device_combo.addItem(NO_DEVICE, None)
        self.device_combo.addItem(FILE_INPUT, FILE_ITEM)
        saved = self.settings.get("live/device")
        index = self.device_combo.findText(saved) if saved else -1
        default = next((i for i, d in enumerate(devices) if d.is_default), 0)
        self.device_combo.setCurrentIndex(index if index >= 0 and saved != FILE_INPUT else default)

    def open_mic(self, rate: int, ring_s: float) -> tuple[RingBuffer, MicSource, int]:
        """Start the chosen device as chosen (model's or device's rate, stereo or mono), falling
        back to the other rate and to mono; the stream resamples for the model."""
        device = self.device_combo.currentData()
        if device is None and self.device_combo.currentText() == NO_DEVICE:
            raise AudioDeviceError("No microphone found. Connect an input device, press ↻, then Start "
                                   "(or choose “Play an audio file as the input…”).")
        self.settings.set("live/device", self.device_combo.currentText())
        own_rate = int(self.device_combo.currentData(RATE_ROLE) or 0)
        rates = [rate] + ([own_rate] if own_rate and own_rate != rate else [])
        if self.capture_combo.currentData() == "device":
            rates.reverse()
        most = int(self.device_combo.currentData(CHANNELS_ROLE) or 1)
        wanted = max(1, min(int(self.channels_combo.currentData()), most, 2))
        first_error = None
        for channels in sorted({wanted, 1}, reverse=True):
            for candidate in rates:
                ring = RingBuffer(int(candidate * ring_s))
                source = MicSource(ring, candidate, device=device, channels=channels,
                                   name=self.device_combo.currentText())
                try:
                    source.start()
                except AudioDeviceError as exc:
                    first_error = first_error or exc
                    continue
                self.capture_label.setText(capture_text(channels, candidate, rate))
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
        self.capture_combo.setEnabled(not running)
        self.channels_combo.setEnabled(not running)
        if not running:
            self.meter.reset()
            self.capture_label.clear()
