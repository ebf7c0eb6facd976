"""The file view: open a clip, see it, play it, classify it window by window, export.

Loading and classification run in :class:`~gui.workers.task.TaskWorker` threads; the
waveform, spectrogram and prediction timeline share one zoomable time axis.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.atomic import atomic_write_text
from engine.audio.io import Audio, load_audio
from engine.audio.spectrogram import Spectrogram, SpectrogramSettings, spectrogram_with
from engine.classify.predictions import FilePredictions
from engine.errors import SaveError
from engine.jobs.outputs import free_name
from engine.models.calibration import MIN_CALIBRATION_S, CalibrationRefused
from engine.models.catalog import ModelCatalog
from gui.file.overview import OverviewStrip
from gui.settings import Settings
from gui.widgets.elided_label import ElidedLabel
from gui.widgets.label_bars import LabelBars
from gui.widgets.layout import side_column
from gui.widgets.plots import ClipSpectrogram, ClipWaveform, PredictionTimeline
from gui.widgets.spectrogram_settings import SpectrogramSettingsBox
from gui.workers.playback import Player
from gui.workers.task import TaskWorker

AUDIO_FILTER = "Audio (*.wav *.flac *.ogg *.mp3 *.aif *.aiff *.WAV *.FLAC *.OGG *.MP3 *.AIF *.AIFF);;All files (*)"
MAX_FILE_S = 30 * 60.0
MAX_SPECTROGRAM_COLUMNS = 4000   # a long clip's spectrogram is drawn with a longer hop than its overlap asks


def _duration_s(path: Path) -> float:
    """The length a file's header states (0 when unreadable: the loader reports why)."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:  # noqa: BLE001 - any failure is reported by the loader
        return 0.0
    return info.frames / info.samplerate if info.samplerate else 0.0


def _load(path: Path, spec: SpectrogramSettings) -> tuple[Audio, Spectrogram, SpectrogramSettings]:
    audio = load_audio(path, max_s=MAX_FILE_S)
    return audio, *_spectrogram(audio, spec)


def _spectrogram(audio: Audio, spec: SpectrogramSettings) -> tuple[Spectrogram, SpectrogramSettings]:
    return spectrogram_with(audio.samples, audio.sample_rate_hz, spec, max_columns=MAX_SPECTROGRAM_COLUMNS), spec


class FileView(QWidget):
    loaded = Signal(object)          # engine.audio.io.Audio
    long_file = Signal(object)       # a path longer than MAX_FILE_S: for the Annotate view, which reads on demand
    classified = Signal(object)      # FilePredictions
    failed = Signal(str)
    status_message = Signal(str)

    def __init__(self, catalog: ModelCatalog, settings: Settings, parent=None, *, use_audio_device=True) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.settings = settings
        self.audio: Audio | None = None
        self.predictions: FilePredictions | None = None
        self._workers: list[TaskWorker] = []
        self._latest: dict[str, TaskWorker] = {}   # the newest load / classify task; older ones are stale
        self.player = Player(self, use_device=use_audio_device)
        self.player.moved.connect(self._on_player_moved)
        self.player.started.connect(lambda: self.play_button.setText("Pause"))
        self.player.stopped.connect(lambda: self.play_button.setText("Play"))
        self.player.noticed.connect(self.status_message)
        self.setAcceptDrops(True)
        self._build()
        catalog.subscribe("current", self._on_catalog_current)

    def _build(self) -> None:
        bar = self._build_toolbar()
        self.waveform = ClipWaveform()
        self.spectrogram = ClipSpectrogram()
        self.timeline = PredictionTimeline()
        for plot in (self.spectrogram, self.timeline):
            plot.setXLink(self.waveform)
        self.cursors = [pg.InfiniteLine(0.0, pen=pg.mkPen("#f0f6fc", width=1)) for _ in range(3)]
        for plot, line in zip((self.waveform, self.spectrogram, self.timeline), self.cursors, strict=True):
            plot.addItem(line)
        splitter = QSplitter(Qt.Orientation.Vertical)
        for plot in (self.waveform, self.spectrogram, self.timeline):
            splitter.addWidget(plot)
        splitter.setSizes([180, 360, 170])
        self.overview = OverviewStrip()   # where the view is in the whole clip; drag, click or wheel to move
        self.overview.moved.connect(lambda a, b: self.waveform.setXRange(a, b, padding=0))
        self.waveform.sigXRangeChanged.connect(self._update_overview)
        plots = QVBoxLayout()
        plots.addLayout(self._spectrogram_settings_row())
        plots.addWidget(self.overview)
        plots.addWidget(splitter, 1)

        self.bars = LabelBars(5)
        self.bars.set_message("No clip yet")
        self.info_label = QLabel()
        self.info_label.setWordWrap(True)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #f85149;")
        self.calibrate_box = QCheckBox("Calibrate to this speaker")
        self.calibrate_box.setToolTip(
            "For models trained with speaker normalisation: normalise the model to the voice in this "
            f"recording (the band statistics of its voiced audio, no labels; pauses and silence are left "
            f"out) before classifying it, when it holds at least {MIN_CALIBRATION_S:g} s of voice. "
            "Statistics implausibly far from the model's own are refused. Uncalibrated, such a model uses its training speakers' "
            "average (docs/EMODB_MODEL.md).")
        self.calibrate_box.setChecked(bool(self.settings.get("file/calibrate")))
        self.calibrate_box.toggled.connect(self._on_calibrate_toggled)
        side_widget = side_column(QLabel("<b>Whole clip</b>"), self.bars, self.info_label, self.calibrate_box,
                                  self.error_label)
        self._show_calibration_choice()

        body = QHBoxLayout()
        body.addLayout(plots, 1)
        body.addWidget(side_widget)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(body, 1)

    def _build_toolbar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        buttons = [("Open…", self.open_dialog, "Open an audio file (Ctrl+O), or drop one here"),
                   ("Play", self.player.toggle, "Play or pause (Space)"),
                   ("Stop", self.player.stop, "Stop and go back to the start"),
                   ("Zoom in", lambda: self.zoom(0.5), "Zoom in (Ctrl++)"),
                   ("Zoom out", lambda: self.zoom(2.0), "Zoom out (Ctrl+-)"),
                   ("Fit", self.zoom_fit, "Show the whole clip (Ctrl+0)"),
                   ("Classify", self.classify, "Classify with the current model"),
                   ("Export CSV…", self.export_dialog, "Save the window predictions as CSV")]
        for text, slot, tip in buttons:
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            bar.addWidget(button)
            setattr(self, f"{text.split()[0].strip('…').lower()}_button", button)
        bar.addStretch(1)
        self.file_label = ElidedLabel("Open a file, or drop one here")  # a long name never widens the window
        self.file_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bar.addWidget(self.file_label)
        return bar

    def _spectrogram_settings_row(self) -> QHBoxLayout:
        """FFT size, window and overlap above the plots, as in the Audit tab (the toolbar is full)."""
        self.spectrogram_settings = SpectrogramSettingsBox(self.settings, "file")
        self.spectrogram_settings.changed.connect(self._redraw_spectrogram)
        row = QHBoxLayout()
        row.addWidget(QLabel("Spectrogram"))
        row.addWidget(self.spectrogram_settings)
        row.addStretch(1)
        return row

    # ---- opening --------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open audio", self.settings.get("file/last_dir"), AUDIO_FILTER)
        if path:
            self.open_file(path)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_file(urls[0].toLocalFile())
            event.acceptProposedAction()

    def open_file(self, path: str | Path) -> None:
        path = Path(path)
        if _duration_s(path) > MAX_FILE_S:
            message = (f"{path.name} is longer than {MAX_FILE_S / 60:.0f} minutes: it opens in the Annotate tab, "
                       "which reads it from disk as you look (File → Annotate a recording…)")
            self.error_label.setText(message)
            self.status_message.emit(message)
            self.long_file.emit(path)
            return
        self.settings.set("file/last_dir", str(path.parent))
        self.status_message.emit(f"Opening {path.name}…")
        spec = self.spectrogram_settings.current()
        self._run("load", lambda: _load(path, spec), self._on_load_completed, f"Opening {path.name}")

    def _run(self, kind: str, fn, on_completed, what: str) -> TaskWorker:
        worker = TaskWorker(fn, what=what, parent=self)
        self._latest[kind] = worker
        worker.completed.connect(on_completed)
        worker.failed.connect(self._on_task_failed)
        worker.finished.connect(lambda: self._forget(worker))
        self._workers.append(worker)
        worker.start()
        return worker

    def _forget(self, worker: TaskWorker) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
            worker.deleteLater()

    def _is_stale(self, kind: str) -> bool:
        sender = self.sender()
        return sender is not None and sender is not self._latest.get(kind)

    def _on_task_failed(self, message: str) -> None:
        if self.sender() not in self._latest.values():
            return  # a stale task
        self._show_failure(message)

    def _show_failure(self, message: str) -> None:
        self.error_label.setText(message)
        self.status_message.emit(message)
        self.failed.emit(message)

    def _on_load_completed(self, loaded) -> None:
        if self._is_stale("load"):
            return  # another file was opened since
        audio, spec, spec_settings = loaded
        self.audio, self.predictions = audio, None
        self.error_label.clear()
        self.player.load(audio.samples, audio.sample_rate_hz)
        self.waveform.show_clip(audio.samples, audio.sample_rate_hz)
        self.overview.set_duration(audio.duration_s)
        self.overview.show_samples(audio.samples, audio.sample_rate_hz)
        self.spectrogram.show_spectrogram(spec.db, audio.duration_s, spec.max_freq_hz)
        if spec_settings != self.spectrogram_settings.current():
            self._redraw_spectrogram()    # the settings changed while it loaded
        self.timeline.clear_windows()
        self.zoom_fit()
        self.file_label.setText(f"{audio.path.name} · {audio.duration_s:.2f} s · {audio.sample_rate_hz} Hz")
        self.bars.set_message("Not classified yet")
        self.status_message.emit(f"Opened {audio.path}")
        self.loaded.emit(audio)
        if self.catalog.classifier is not None:
            self.classify()

    def _redraw_spectrogram(self, *_args) -> None:
        """The open clip's spectrogram with the settings now chosen, computed in a worker."""
        audio = self.audio
        if audio is None:
            return
        spec = self.spectrogram_settings.current()
        self._run("spectrogram", lambda: (audio, *_spectrogram(audio, spec)), self._on_spectrogram_completed,
                  "Drawing the spectrogram")

    def _on_spectrogram_completed(self, computed) -> None:
        audio, spec, _settings = computed
        if self._is_stale("spectrogram") or audio is not self.audio:
            return  # newer settings, or another file, since
        self.spectrogram.show_spectrogram(spec.db, audio.duration_s, spec.max_freq_hz)

    # ---- classification -----------------------------------------------------------
    def classify(self) -> None:
        classifier, audio = self.catalog.classifier, self.audio
        if audio is None:
            return
        if classifier is None:
            self.bars.set_message("No usable model: see the Models panel")
            return
        hop_s = self.settings.get("file/hop_s")
        name = self.catalog.current.name
        calibrate = getattr(classifier, "calibratable", False) and self.calibrate_box.isChecked()
        self.bars.set_message("Classifying…")
        self._run("classify", lambda: _predict(classifier, name, audio, hop_s, calibrate), self._on_classify_completed,
                  f"Classifying {audio.path.name if audio.path else 'the clip'}")

    def _on_classify_completed(self, predictions: FilePredictions) -> None:
        if self._is_stale("classify"):
            return  # the model or the file changed since
        self.predictions = predictions
        self.bars.set_items(predictions.top(5))
        self.timeline.show_windows(predictions.starts_s, predictions.window_probs, predictions.labels,
                                   predictions.window_s)
        self.info_label.setText(
            f"Model <b>{predictions.model_name}</b><br>{len(predictions.starts_s)} "
            f"window{'s' if len(predictions.starts_s) != 1 else ''} of {predictions.window_s:g} s, "
            f"one every {self.settings.get('file/hop_s'):g} s"
            + ("<br>calibrated to this recording's speaker" if predictions.calibrated else
               f"<br>not calibrated: {html.escape(predictions.calibration_note)}" if predictions.calibration_note
               and self.calibrate_box.isVisible() and self.calibrate_box.isChecked() else ""))
        self.status_message.emit(f"Classified: {predictions.top(1)[0][0]}")
        self.classified.emit(predictions)

    def _on_catalog_current(self, entry) -> None:
        self._show_calibration_choice()
        if self.audio is not None and entry is not None:
            self.classify()

    def _show_calibration_choice(self) -> None:
        """The calibration box only for a model that can be calibrated."""
        classifier = self.catalog.classifier
        self.calibrate_box.setVisible(classifier is not None and getattr(classifier, "calibratable", False))

    def _on_calibrate_toggled(self, checked: bool) -> None:
        self.settings.set("file/calibrate", bool(checked))
        if self.audio is not None and self.catalog.classifier is not None:
            self.classify()

    def export_dialog(self) -> None:
        if self.predictions is None:
            self.status_message.emit("Classify a clip before exporting its predictions")
            return
        stem = self.audio.path.stem if self.audio and self.audio.path else "predictions"
        default = str(free_name(Path(self.settings.get("file/last_dir")) / f"{stem}-predictions.csv"))
        path, _ = QFileDialog.getSaveFileName(self, "Export predictions", default, "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path: str | Path) -> bool:
        try:
            atomic_write_text(path, self.predictions.to_csv())
        except SaveError as exc:
            self._show_failure(str(exc))
            return False
        self.status_message.emit(f"Exported {len(self.predictions.starts_s)} windows to {path}")
        return True

    # ---- zoom and playback -----------------------------------------------------------
    def zoom(self, factor: float) -> None:
        (x0, x1), _ = self.waveform.viewRange()
        centre = self.player.position_s if self.player.playing else (x0 + x1) / 2
        half = (x1 - x0) * factor / 2
        self.waveform.setXRange(centre - half, centre + half, padding=0)

    def zoom_fit(self) -> None:
        duration = self.audio.duration_s if self.audio else 1.0
        self.waveform.setXRange(0, duration, padding=0)

    def _update_overview(self, *_args) -> None:
        (x0, x1), _ = self.waveform.viewRange()
        box = self.waveform.getPlotItem().getViewBox()
        self.overview.show_view(float(x0), float(x1))
        self.overview.align_left(self.waveform.mapFromScene(box.sceneBoundingRect().topLeft()).x())

    def _on_player_moved(self, position_s: float) -> None:
        for line in self.cursors:
            line.setValue(position_s)

    def shutdown(self) -> None:
        self.player.stop()
        self.catalog.unsubscribe("current", self._on_catalog_current)
        for worker in list(self._workers):
            worker.close()


def _predict(classifier, name: str, audio: Audio, hop_s: float, calibrate: bool = False) -> FilePredictions:
    from engine.audio.io import resample

    rate = classifier.meta.sample_rate_hz
    samples = audio.samples if audio.sample_rate_hz == rate else resample(audio.samples, audio.sample_rate_hz, rate)
    # The band statistics of the recording's voiced audio (one speaker, labels unknown), when there
    # is enough voice for them to help: on a single short clip calibration scores far worse than none.
    note = ""
    if calibrate:
        calibrate, note = False, f"under {MIN_CALIBRATION_S:g} s of voice"
        if len(samples) / rate >= MIN_CALIBRATION_S:
            try:
                stats, voiced_s = classifier.calibrate_voiced([samples])
            except CalibrationRefused as exc:
                note = f"calibration to {_recording_name(audio)} refused: {exc}"
            else:
                if voiced_s >= MIN_CALIBRATION_S:
                    classifier, calibrate = classifier.calibrated(stats), True
                else:
                    note = f"{voiced_s:.1f} s of voice, under {MIN_CALIBRATION_S:g} s"
    clip = classifier.classify(samples)
    starts, probs = classifier.windows(samples, hop_s=hop_s)
    return FilePredictions(name, list(classifier.meta.labels), np.asarray(clip), starts, probs,
                           classifier.meta.clip_s, calibrated=calibrate, calibration_note=note)


def _recording_name(audio: Audio) -> str:
    return audio.path.name if audio.path is not None else "the recording"
