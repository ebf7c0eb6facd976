"""The live view: pick an input, watch the waveform and spectrogram, read the labels.

Capture runs in PortAudio's thread (or a file source's thread) and fills a ring buffer;
:class:`~gui.workers.live_worker.LiveWorker` classifies off the GUI thread; a 30 ms timer
drains both into the plots. Nothing here blocks on audio.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.audio.io import load_audio
from engine.audio.spectrogram import StreamingSpectrogram
from engine.errors import AudioDeviceError, AudioLoadError
from engine.live.ringbuffer import RingBuffer
from engine.live.sources import FileSource
from engine.live.stream import InputWatch, StreamingClassifier, label_timing, level_dbfs
from engine.models.calibration import MIN_CALIBRATION_S
from engine.models.catalog import ModelCatalog
from gui.settings import Settings
from gui.widgets.input_panel import InputPanel
from gui.widgets.label_bars import LabelBars
from gui.widgets.layout import side_column
from gui.widgets.plots import ScrollingSpectrogram, ScrollingWaveform
from gui.widgets.record_panel import RecordPanel
from gui.widgets.spin import double_spin
from gui.widgets.wrong_answer import WrongAnswerPanel
from gui.workers.live_worker import STOP_TIMEOUT_S, LiveWorker

DISPLAY_S = 6.0
FALLBACK_RATE_HZ = 16000
RING_S = 20.0                      # the ring buffer holds this much audio
STALL_S = 1.0                      # no new audio for this long: the view says the input went quiet
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
        self._input_watch = InputWatch(STALL_S)
        self._stall_reported = False
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
        self.input_panel = InputPanel(self.settings)
        self.input_panel.start_button.clicked.connect(self._on_start_clicked)
        panel = self.input_panel
        self.device_combo, self.start_button = panel.device_combo, panel.start_button
        self.meter, self.message_label = panel.meter, panel.message_label
        controls.addWidget(panel)
        controls.addWidget(self._build_classify_box())
        self.wrong_panel = WrongAnswerPanel(self._current_answer_audio, self)
        self.wrong_panel.failed.connect(self._show_error)
        controls.addWidget(self.wrong_panel)
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
        right_widget = side_column(QLabel("<b>Now hearing</b>"), self.now_label, self.bars,
                                   self.latency_label, self.model_label)

        layout = QHBoxLayout(self)
        layout.addWidget(left)
        layout.addLayout(plots, 1)
        layout.addWidget(right_widget)

    def _build_classify_box(self) -> QGroupBox:
        box = QGroupBox("Classification")
        s = self.settings
        self.window_spin = double_spin(0.0, RING_S * 0.75, s.get("live/window_s"), 0.25, "s",
                                       "The audio each label is made from (0 = the model's clip length). A label "
                                       "trails the voice by about half of it (plus half the smoothed span): a shorter window follows sooner, "
                                       "but the model then hears less than it was trained on")
        self.window_spin.setSpecialValueText("model's clip")
        self.hop_spin = double_spin(0.05, 10.0, s.get("live/hop_s"), 0.05, "s", "how often a new label is made")
        self.smoothing_spin = QSpinBox()
        self.smoothing_spin.setRange(1, 20)
        self.smoothing_spin.setValue(s.get("live/smoothing"))
        self.smoothing_spin.setToolTip("average the probabilities of the last N windows (steadier labels; each "
                                       "window more makes the label trail the voice by half a hop more)")
        self.gate_spin = double_spin(-120.0, 0.0, s.get("live/silence_dbfs"), 1.0, "dBFS",
                               "windows quieter than this are labelled silence")
        for widget in (self.window_spin, self.hop_spin, self.smoothing_spin, self.gate_spin):
            widget.valueChanged.connect(self._on_classify_settings_changed)
        self.calibrate_box = QCheckBox("Calibrate to the voice")
        self.calibrate_box.setToolTip(
            f"For models trained with speaker normalisation: after {MIN_CALIBRATION_S:g} s of voice (pauses "
            "and silence not counted), normalise the model to it (the band statistics of the voice heard); "
            "statistics implausibly far from the model's own are refused; unticking starts over")
        self.calibrate_box.setChecked(bool(s.get("live/calibrate")))
        self.calibrate_box.toggled.connect(self._on_classify_settings_changed)
        form = QFormLayout(box)
        form.addRow("Window", self.window_spin)
        form.addRow("Hop", self.hop_spin)
        form.addRow("Smoothing", self.smoothing_spin)
        form.addRow("Silence gate", self.gate_spin)
        form.addRow(self.calibrate_box)
        return box

    # ---- devices and start/stop -------------------------------------------------------
    def refresh_devices(self) -> None:
        self.input_panel.refresh_devices()

    @property
    def running(self) -> bool:
        return self.worker is not None

    def _on_start_clicked(self) -> None:
        if self.running:
            self.stop()
        elif self.input_panel.wants_file:
            path, _ = QFileDialog.getOpenFileName(self, "Play a file as the input", self.settings.get("file/last_dir"),
                                                  "Audio (*.wav *.flac *.ogg *.mp3 *.aif *.aiff);;All files (*)")
            if path:
                self.start_file_input(path)
        else:
            self.start()

    def start_file_input(self, path: str | Path, *, speed: float = 1.0) -> bool:
        """Listen to an audio file, looped in real time, as if it were a microphone."""
        path = Path(path)
        classifier = self.catalog.classifier
        rate = classifier.meta.sample_rate_hz if classifier else FALLBACK_RATE_HZ
        try:
            samples = load_audio(path, rate).samples
        except AudioLoadError as exc:
            self._show_error(str(exc))
            self.failed.emit(str(exc))
            return False
        return self.start(lambda ring, r: FileSource(ring, samples, r, block_size=max(1, r // 100), speed=speed,
                                                     loop=True, name=f"{path.name} (file)"), rate)

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
                ring, source, rate = self.input_panel.open_mic(rate, RING_S)
        except AudioDeviceError as exc:
            self._show_error(str(exc))
            self.failed.emit(str(exc))
            return False
        self.ring, self.source, self.sample_rate_hz = ring, source, rate
        # a custom source (a file) is named in the device list while it plays
        self.input_panel.set_running(True, getattr(source, "device_name", "custom source") if source_factory else None)
        self._reset_display(rate)
        self._overflows_reported = 0
        self.worker = LiveWorker(ring, source, self._make_stream(classifier), owner=self)
        self.worker.classified.connect(self._on_worker_classified)
        self.worker.failed.connect(self._on_worker_failed)
        self.worker.start()
        self._timer.start()
        self._show_error("")
        self.record_panel.attach(ring, rate, source)  # every channel of a stereo input
        self.status_message.emit(f"Listening to {getattr(source, 'device_name', 'the input')} at {rate} Hz")
        self.started.emit()
        return True

    def _make_stream(self, classifier) -> StreamingClassifier | None:
        if classifier is None:
            self.bars.set_message("No model: choose one in the Models panel")
            return None
        window = self.window_spin.value() or None
        return StreamingClassifier(
            classifier, source_rate_hz=self.sample_rate_hz, window_s=window, hop_s=self.hop_spin.value(),
            smoothing=self.smoothing_spin.value(), silence_dbfs=self.gate_spin.value(),
            calibrate=self.calibrate_box.isChecked(),
        )

    def stop(self, message: str = "Stopped") -> None:
        if not self.running:
            return
        self.record_panel.attach(None)
        self._timer.stop()
        worker, self.worker = self.worker, None
        if not worker.stop(STOP_TIMEOUT_S):
            # a window still in inference (a slow model): the registry keeps the thread until it ends
            message += " · the last window is still being classified; it will end on its own"
        self.source.stop()
        self.input_panel.set_running(False)
        self.status_message.emit(message)
        self.stopped.emit()

    def busy_description(self) -> str:
        """What quitting now would cut short ("" when nothing)."""
        recorder = self.recorder
        return "Recording" if recorder is not None and recorder.recording else ""

    # ---- model and settings changes -----------------------------------------------------
    def _current_answer_audio(self, context_s: float):
        """The audio behind the answer shown (window + up to ``context_s`` before), for the wrong-answer panel."""
        result, entry = self.last_result, self.catalog.current
        if result is None or result.silent or self.ring is None or entry is None:
            return None
        window_s = self.window_spin.value() or entry.meta.clip_s
        n = int(round((window_s + context_s) * self.sample_rate_hz))
        end = result.end_sample
        n = min(n, end, self.ring.capacity, end - self.ring.oldest_index())
        if n <= 0:
            return None
        return np.array(self.ring.window(end, n)), self.sample_rate_hz, window_s, result.label, entry.path

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
        s.set("live/calibrate", self.calibrate_box.isChecked())
        if self.worker is not None:
            self.worker.set_stream(self._make_stream(self.catalog.classifier))

    def _update_model_label(self) -> None:
        classifier = self.catalog.classifier
        self.calibrate_box.setVisible(classifier is not None and getattr(classifier, "calibratable", False))
        entry = self.catalog.current
        self.wrong_panel.set_labels(list(entry.meta.labels) if entry is not None else [])
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
        self._input_watch.reset()
        self._stall_reported = False
        self.waveform.show_span(None)

    def _update_display(self) -> None:
        t0 = time.perf_counter()
        ring = self.ring
        fresh = self._display_reader.read(max_samples=ring.capacity // 2)
        if fresh.size:
            self.spectrogram.push(self._spectro.push(fresh))
        latest = ring.latest(int(DISPLAY_S * self.sample_rate_hz))
        self.waveform.show_samples(latest, self.sample_rate_hz)
        self.meter.set_level(level_dbfs(latest[-int(0.05 * self.sample_rate_hz):]))
        if not self._update_input_watch():
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
            self.now_label.setText(result.label)   # "nothing recognised" when no class passed its threshold
            self.now_label.setToolTip(result.unrecognised)
            self.bars.set_items(result.top)
        overflows = getattr(self.source, "overflow_count", 0)
        self._report_overflows(overflows)
        window_s = self.window_spin.value() or (self.catalog.current.meta.clip_s if self.catalog.current else 0.0)
        timing = label_timing(result, self.ring.total_written, window_s, self.sample_rate_hz,
                              smoothing=self.smoothing_spin.value(), hop_s=self.hop_spin.value())
        self.waveform.show_span(timing.start_ago_s, timing.end_ago_s)
        self.latency_label.setText(
            f"Label from the shaded <b>{window_s:g} s</b> window, ending {timing.end_ago_s:.1f} s ago: "
            f"averaged over {self.smoothing_spin.value()}: it trails the voice by about <b>{timing.lag_s:.1f} s</b><br>"
            f"Latency (block → label): <b>{result.latency_s * 1000:.0f} ms</b><br>"
            f"Inference: {result.inference_s * 1000:.1f} ms · real-time factor {result.real_time_factor:.3f}<br>"
            f"Dropped: {result.dropped_samples / self.sample_rate_hz:.1f} s · overflows: {overflows}"
            + (f"<br>{result.calibration.capitalize()}" if result.calibration else ""))

    def _update_input_watch(self) -> bool:
        """Say so when the input stopped delivering audio (True: the labels shown are stale)."""
        quiet_s = self._input_watch.update(self.ring.total_written, time.monotonic())
        if quiet_s is None:
            self._stall_reported = False
            return False
        self.now_label.setText("—")
        self.bars.set_message(f"No audio from the input for {quiet_s:.0f} s: is it unplugged, muted or "
                              "used by another program?")
        self.latency_label.setText("Latency: — (no audio arriving)")
        self.waveform.show_span(None)
        if not self._stall_reported:
            self._stall_reported = True
            self.status_message.emit(f"No audio from {getattr(self.source, 'device_name', 'the input')} "
                                     f"for {STALL_S:g} s")
        return True

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

