"""The live view: pick an input, watch the waveform and spectrogram, read the labels.

Capture runs in PortAudio's thread (or a file source's thread) and fills a ring buffer;
:class:`~gui.workers.live_worker.LiveWorker` classifies off the GUI thread; a 30 ms timer
drains both into the plots. Nothing here blocks on audio.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.catalog import ModelCatalog
from engine.errors import AudioDeviceError
from engine.ringbuffer import RingBuffer
from engine.sources import MicSource, list_input_devices
from engine.spectrogram import StreamingSpectrogram
from engine.stream import StreamingClassifier, level_dbfs
from gui.settings import Settings
from gui.widgets.label_bars import LabelBars
from gui.widgets.level_meter import LevelMeter
from gui.widgets.plots import ScrollingSpectrogram, ScrollingWaveform
from gui.widgets.record_panel import RecordPanel
from gui.widgets.spin import double_spin
from gui.workers.live_worker import LiveWorker

DISPLAY_S = 6.0
FALLBACK_RATE_HZ = 16000
RING_S = 20.0                      # the ring buffer holds this much audio
NO_DEVICE = "No input device found"
SOURCE_ITEM = "<source>"
RATE_ROLE = Qt.ItemDataRole.UserRole + 1
SourceFactory = Callable[[RingBuffer, int], object]


class LiveView(QWidget):
    started = Signal()
    stopped = Signal()
    labelled = Signal(object)        # every LiveResult shown
    failed = Signal(str)
    status_message = Signal(str)

    def __init__(self, catalog: ModelCatalog, settings: Settings, parent=None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.settings = settings
        self.ring: RingBuffer | None = None
        self.source = None
        self.worker: LiveWorker | None = None
        self.sample_rate_hz = FALLBACK_RATE_HZ
        self.last_result = None
        self._overflows_reported = 0
        self.frame_times_s: deque[float] = deque(maxlen=600)
        self._spectro: StreamingSpectrogram | None = None
        self._display_reader = None
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(30)
        self._timer.timeout.connect(self._update_display)
        catalog.subscribe("current", self._on_catalog_current)
        self.refresh_devices()
        self._update_model_label()

    # ---- layout -------------------------------------------------------------------
    def _build(self) -> None:
        controls = QVBoxLayout()
        controls.addWidget(self._build_input_box())
        controls.addWidget(self._build_classify_box())
        self.record_panel = RecordPanel(self.settings)
        self.record_panel.status_message.connect(self.status_message)
        self.record_panel.failed.connect(self._show_error)
        self.folder_edit = self.record_panel.folder_edit
        self.format_combo = self.record_panel.format_combo
        self.record_label = self.record_panel.record_label
        controls.addWidget(self.record_panel)
        controls.addStretch(1)
        left = QWidget()
        left.setLayout(controls)
        left.setFixedWidth(300)

        self.waveform = ScrollingWaveform(DISPLAY_S)
        self.spectrogram = ScrollingSpectrogram(300, 257, 256 / FALLBACK_RATE_HZ, FALLBACK_RATE_HZ / 2)
        plots = QVBoxLayout()
        plots.addWidget(self.waveform, 2)
        plots.addWidget(self.spectrogram, 5)

        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.now_label = QLabel("—")
        self.now_label.setStyleSheet("font-size: 20pt; font-weight: 600;")
        self.bars = LabelBars(5)
        self.bars.set_message("Press Start to listen")
        self.latency_label = QLabel("Latency: —")
        self.latency_label.setWordWrap(True)
        right = QVBoxLayout()
        right.addWidget(QLabel("<b>Now hearing</b>"))
        right.addWidget(self.now_label)
        right.addWidget(self.bars)
        right.addWidget(self.latency_label)
        right.addWidget(self.model_label)
        right.addStretch(1)
        right_widget = QWidget()
        right_widget.setLayout(right)
        right_widget.setFixedWidth(300)

        layout = QHBoxLayout(self)
        layout.addWidget(left)
        layout.addLayout(plots, 1)
        layout.addWidget(right_widget)

    def _build_input_box(self) -> QGroupBox:
        box = QGroupBox("Input")
        self.device_combo = QComboBox()
        self.device_combo.setToolTip("The microphone or line input to listen to")
        refresh = QToolButton()
        refresh.setText("↻")
        refresh.setToolTip("Look for input devices again")
        refresh.clicked.connect(self.refresh_devices)
        row = QHBoxLayout()
        row.addWidget(self.device_combo, 1)
        row.addWidget(refresh)
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Start or stop listening")
        self.start_button.clicked.connect(self._on_start_clicked)
        self.meter = LevelMeter()
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("color: #f85149;")
        form = QVBoxLayout(box)
        form.addLayout(row)
        form.addWidget(self.start_button)
        form.addWidget(self.meter)
        form.addWidget(self.message_label)
        return box

    def _build_classify_box(self) -> QGroupBox:
        box = QGroupBox("Classification")
        s = self.settings
        self.window_spin = double_spin(0.0, RING_S * 0.75, s.get("live/window_s"), 0.25, "s", "0 = the model's clip length")
        self.window_spin.setSpecialValueText("model's clip")
        self.hop_spin = double_spin(0.05, 10.0, s.get("live/hop_s"), 0.05, "s", "how often a new label is made")
        self.smoothing_spin = QSpinBox()
        self.smoothing_spin.setRange(1, 20)
        self.smoothing_spin.setValue(s.get("live/smoothing"))
        self.smoothing_spin.setToolTip("average the probabilities of the last N windows")
        self.gate_spin = double_spin(-120.0, 0.0, s.get("live/silence_dbfs"), 1.0, "dBFS",
                               "windows quieter than this are labelled silence")
        for widget in (self.window_spin, self.hop_spin, self.smoothing_spin, self.gate_spin):
            widget.valueChanged.connect(self._on_classify_settings_changed)
        form = QFormLayout(box)
        form.addRow("Window", self.window_spin)
        form.addRow("Hop", self.hop_spin)
        form.addRow("Smoothing", self.smoothing_spin)
        form.addRow("Silence gate", self.gate_spin)
        return box

    # ---- devices and start/stop -------------------------------------------------------
    def refresh_devices(self) -> None:
        self.device_combo.clear()
        try:
            devices = list_input_devices()
        except AudioDeviceError as exc:
            self._show_error(str(exc))
            devices = []
        for device in devices:
            self.device_combo.addItem(str(device), device.index)
            self.device_combo.setItemData(self.device_combo.count() - 1, device.default_sample_rate_hz, RATE_ROLE)
        if not devices:
            self.device_combo.addItem(NO_DEVICE, None)
        saved = self.settings.get("live/device")
        index = self.device_combo.findText(saved) if saved else -1
        default = next((i for i, d in enumerate(devices) if d.is_default), 0)
        self.device_combo.setCurrentIndex(index if index >= 0 else default)

    @property
    def running(self) -> bool:
        return self.worker is not None

    def _on_start_clicked(self) -> None:
        self.stop() if self.running else self.start()

    def start(self, source_factory: SourceFactory | None = None, sample_rate_hz: int | None = None) -> bool:
        """Start listening (to the chosen device, or to ``source_factory(ring, rate)``)."""
        if self.running:
            return True
        classifier = self.catalog.classifier
        rate = int(sample_rate_hz or (classifier.meta.sample_rate_hz if classifier else FALLBACK_RATE_HZ))
        try:
            if source_factory is not None:
                ring = RingBuffer(int(rate * RING_S))
                source = source_factory(ring, rate)
                source.start()
            else:
                ring, source, rate = self._start_mic(rate)
        except AudioDeviceError as exc:
            self._show_error(str(exc))
            self.failed.emit(str(exc))
            return False
        self.ring, self.source, self.sample_rate_hz = ring, source, rate
        if source_factory is not None:  # say what is being heard instead of the device list's choice
            self.device_combo.insertItem(0, getattr(source, "device_name", "custom source"), SOURCE_ITEM)
            self.device_combo.setCurrentIndex(0)
        self._reset_display(rate)
        self._overflows_reported = 0
        self.worker = LiveWorker(ring, source, self._make_stream(classifier))
        self.worker.classified.connect(self._on_worker_classified)
        self.worker.failed.connect(self._on_worker_failed)
        self.worker.start()
        self._timer.start()
        self._show_error("")
        self.start_button.setText("Stop")
        self.device_combo.setEnabled(False)
        self.record_panel.attach(ring, rate)
        self.status_message.emit(f"Listening to {getattr(source, 'device_name', 'the input')} at {rate} Hz")
        self.started.emit()
        return True

    def _start_mic(self, rate: int) -> tuple[RingBuffer, MicSource, int]:
        """Open the chosen device at the model's rate, else at the device's own (then resample)."""
        device = self.device_combo.currentData()
        if device is None and self.device_combo.currentText() == NO_DEVICE:
            raise AudioDeviceError("No microphone found. Connect an input device, press ↻, then Start.")
        self.settings.set("live/device", self.device_combo.currentText())
        own_rate = self.device_combo.currentData(RATE_ROLE)
        rates = [rate] + ([int(own_rate)] if own_rate and int(own_rate) != rate else [])
        first_error = None
        for candidate in rates:
            ring = RingBuffer(int(candidate * RING_S))
            source = MicSource(ring, candidate, device=device)
            try:
                source.start()
            except AudioDeviceError as exc:
                first_error = first_error or exc
                continue
            return ring, source, candidate
        raise first_error  # type: ignore[misc]

    def _make_stream(self, classifier) -> StreamingClassifier | None:
        if classifier is None:
            self.bars.set_message("No model: choose one in the Models panel")
            return None
        window = self.window_spin.value() or None
        return StreamingClassifier(
            classifier, source_rate_hz=self.sample_rate_hz, window_s=window, hop_s=self.hop_spin.value(),
            smoothing=self.smoothing_spin.value(), silence_dbfs=self.gate_spin.value(),
        )

    def stop(self, message: str = "Stopped") -> None:
        if not self.running:
            return
        self.record_panel.attach(None)
        self._timer.stop()
        worker, self.worker = self.worker, None
        worker.stop()
        self.source.stop()
        if self.device_combo.itemData(0) == SOURCE_ITEM:
            self.device_combo.removeItem(0)
            self.refresh_devices()
        self.start_button.setText("Start")
        self.device_combo.setEnabled(True)
        self.meter.reset()
        self.status_message.emit(message)
        self.stopped.emit()

    # ---- model and settings changes -----------------------------------------------------
    def _on_catalog_current(self, entry) -> None:
        self._update_model_label()
        if self.worker is not None:
            self.worker.set_stream(self._make_stream(self.catalog.classifier))
            self.last_result = None

    def _on_classify_settings_changed(self) -> None:
        s = self.settings
        s.set("live/window_s", self.window_spin.value())
        s.set("live/hop_s", self.hop_spin.value())
        s.set("live/smoothing", self.smoothing_spin.value())
        s.set("live/silence_dbfs", self.gate_spin.value())
        if self.worker is not None:
            self.worker.set_stream(self._make_stream(self.catalog.classifier))

    def _update_model_label(self) -> None:
        entry = self.catalog.current
        if entry is None:
            self.model_label.setText("<i>No usable model: see the Models panel.</i>")
        else:
            meta = entry.meta
            self.model_label.setText(
                f"Model <b>{entry.name}</b> · {len(meta.labels)} labels · "
                f"{meta.sample_rate_hz} Hz · {meta.clip_s:g} s clips")

    # ---- worker results -------------------------------------------------------------
    def _on_worker_classified(self, result) -> None:
        if self.sender() is not self.worker:
            return  # queued from a worker that was stopped since
        self.last_result = result
        if result.dropped_samples:
            self.status_message.emit(f"Classification fell behind: skipped "
                                     f"{result.dropped_samples / self.sample_rate_hz:.1f} s of audio to stay live")
        self.labelled.emit(result)

    def _on_worker_failed(self, message: str) -> None:
        if self.sender() is not self.worker:
            return
        self._show_error(message)
        self.stop("Stopped: " + message)
        self.failed.emit(message)

    def _show_error(self, message: str) -> None:
        self.message_label.setText(message)
        if message:
            self.status_message.emit(message)

    # ---- display (GUI timer) ---------------------------------------------------------
    def _reset_display(self, rate: int) -> None:
        n_fft = 512 if rate >= 16000 else 256
        self._spectro = StreamingSpectrogram(rate, n_fft=n_fft, hop_length=n_fft // 2)
        columns = int(DISPLAY_S * rate / (n_fft // 2))
        self.spectrogram.configure(columns, n_fft // 2 + 1, (n_fft // 2) / rate, rate / 2)
        self._display_reader = self.ring.reader()
        self.last_result = None
        self.bars.set_message("Listening…")
        self.now_label.setText("…")

    def _update_display(self) -> None:
        t0 = time.perf_counter()
        ring = self.ring
        fresh = self._display_reader.read(max_samples=ring.capacity // 2)
        if fresh.size:
            self.spectrogram.push(self._spectro.push(fresh))
        latest = ring.latest(int(DISPLAY_S * self.sample_rate_hz))
        self.waveform.show_samples(latest, self.sample_rate_hz)
        self.meter.set_level(level_dbfs(latest[-int(0.05 * self.sample_rate_hz):]))
        self._update_labels()
        self.record_panel.poll()
        self.frame_times_s.append(time.perf_counter() - t0)

    def _update_labels(self) -> None:
        result = self.last_result
        if result is None:
            return
        if result.silent:
            self.now_label.setText("silence")
            self.bars.set_message(f"Silence (below {self.gate_spin.value():.0f} dBFS)")
        else:
            self.now_label.setText(result.label)
            self.bars.set_items(result.top)
        overflows = getattr(self.source, "overflow_count", 0)
        self._report_overflows(overflows)
        self.latency_label.setText(
            f"Latency (block → label): <b>{result.latency_s * 1000:.0f} ms</b><br>"
            f"Inference: {result.inference_s * 1000:.1f} ms · real-time factor {result.real_time_factor:.3f}<br>"
            f"Dropped: {result.dropped_samples / self.sample_rate_hz:.1f} s · overflows: {overflows}")

    def _report_overflows(self, overflows: int) -> None:
        """Overflows go to the status bar, never swallowed (once per new overflow)."""
        if overflows > self._overflows_reported:
            self._overflows_reported = overflows
            self.status_message.emit(f"Input overflow: the sound card dropped audio {overflows} time(s); "
                                     "the computer may be too busy")

    # ---- recording (the Record box does the work) --------------------------------------
    @property
    def recorder(self):
        return self.record_panel.recorder

    def start_recording(self) -> bool:
        return self.record_panel.start_recording()

    def toggle_recording(self) -> None:
        self.record_panel.toggle()

    def shutdown(self) -> None:
        self.stop()
        self.catalog.unsubscribe("current", self._on_catalog_current)

