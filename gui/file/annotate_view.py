"""Annotate a recording of any length: see it, play it, mark and label regions, take suggestions.

The file is read from disk on demand (:class:`engine.audio.long.LongAudio`); what the plots
show is computed for the visible range at screen resolution by a :class:`RangeWorker`
thread, so opening a four-hour file costs what opening a ten-minute one does. Regions live
in an :class:`engine.annotations.regions.RegionTrack` saved beside the audio after every edit; the
label lane and the suggestion lane edit it (see :mod:`gui.file.region_lane`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.annotations.regions import ACCEPTED, PENDING, SUGGESTION, RegionTrack
from engine.audio.long import LongAudio
from engine.errors import EarmarkError
from engine.models.catalog import ModelCatalog
from gui.file.annotate_actions import RegionActions
from gui.file.annotate_navigation import MIN_SPAN_S, AnnotateNavigation
from gui.file.annotate_settings import AnnotateSettings
from gui.file.chunk_player import ChunkPlayback
from gui.file.overview import OVERVIEW_COLUMNS, OverviewStrip
from gui.file.range_worker import RangeWorker
from gui.file.region_lane import LABELS, SUGGESTIONS, RegionLane
from gui.file.region_overlay import RegionOverlay
from gui.file.time_plots import SpectrogramPlot, WaveformPlot
from gui.settings import Settings
from gui.widgets.edit_actions import edit_actions, keys_text, redo_keys, undo_keys
from gui.widgets.elided_label import ElidedLabel
from gui.workers.playback import Player

AUDIO_FILTER = "Audio (*.wav *.flac *.ogg *.WAV *.FLAC *.OGG);;All files (*)"
REQUEST_DELAY_MS = 40
OVERVIEW_N_FFT = 256


class AnnotateView(RegionActions, AnnotateNavigation, AnnotateSettings, QWidget):
    opened = Signal(object)          # the audio path
    range_shown = Signal(object)     # engine.audio.ranges.RangeData, once drawn
    suggested = Signal(int)          # suggestions added
    dataset_made = Signal(object)    # engine.datasets.from_regions.ClipsResult
    labels_imported = Signal(int)    # regions a label-file import added
    failed = Signal(str)
    status_message = Signal(str)
    more_like_this_requested = Signal(str, float, float, str)   # recording, start s, end s, the region's label

    def __init__(self, catalog: ModelCatalog, settings: Settings, parent=None, *, use_audio_device=True) -> None:
        super().__init__(parent)
        self.catalog, self.settings = catalog, settings
        self.audio: LongAudio | None = None
        self.track: RegionTrack | None = None
        self.selection: tuple[float, float] | None = None
        self.selection_band: tuple[float, float] | None = None  # Hz, from a Ctrl+drag on the spectrogram
        self._selected_region: str | None = None
        self._selected_lane: RegionLane | None = None
        self.worker: RangeWorker | None = None
        self.overview_worker: RangeWorker | None = None
        self.suggest_worker = None  # a JobWorker while suggestions are computed
        self.dataset_worker = None  # the latest "Make data set" JobWorker
        self.import_worker = None  # a JobWorker while a label file is imported (the track takes no edits)
        self.playback = ChunkPlayback(Player(self, use_device=use_audio_device), self)
        self.playback.moved.connect(self._on_playback_moved)
        self.playback.started.connect(lambda: self.play_button.setText("Pause"))
        self.playback.stopped.connect(lambda: self.play_button.setText("Play"))
        self.playback.player.noticed.connect(self.status_message)
        self._request_timer = QTimer(self, singleShot=True, interval=REQUEST_DELAY_MS)
        self._request_timer.timeout.connect(self._request_range)
        self._build()
        catalog.subscribe("current", self._on_catalog_current)
        self._on_catalog_current(catalog.current)
        # one action per command holding each of its keys once (a key registered twice is dropped by Qt)
        self.undo_action, self.redo_action = edit_actions(self, self.undo, self.redo)
        self.undo_button.clicked.connect(self.undo_action.trigger)
        self.redo_button.clicked.connect(self.redo_action.trigger)
        self._update_edit_buttons()

    # ---- layout ---------------------------------------------------------------------
    def _build(self) -> None:
        self.waveform, self.spectrogram = WaveformPlot(), SpectrogramPlot()
        self.spectrogram.setXLink(self.waveform)
        self.label_lane, self.suggestion_lane = RegionLane(LABELS), RegionLane(SUGGESTIONS)
        self.overlay = RegionOverlay(self.spectrogram, self.label_lane.color_of)
        self.readout = ElidedLabel("Open a recording of any length", mode=Qt.TextElideMode.ElideRight)
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("note on the selected region")
        self.note_edit.setEnabled(False)
        self.note_edit.editingFinished.connect(self._on_note_edited)
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_toolbar())
        layout.addLayout(self._build_settings_row())
        self.plots = QWidget()  # the plots and lanes: what "Save the view as an image" saves
        plots = QVBoxLayout(self.plots)
        plots.setContentsMargins(0, 0, 0, 0)
        self.overview = OverviewStrip()
        self.overview.moved.connect(self.zoom_to)
        plots.addWidget(self.overview)
        plots.addWidget(self.waveform, 1)
        plots.addWidget(self.spectrogram, 3)
        plots.addWidget(self.label_lane)
        plots.addWidget(self.suggestion_lane)
        layout.addWidget(self.plots, 1)
        bottom = QHBoxLayout()
        self.file_label = ElidedLabel("")  # a long name never widens the window past a laptop screen
        bottom.addWidget(self.file_label, 2)
        bottom.addWidget(self.readout, 2)
        bottom.addWidget(QLabel("Note"))
        bottom.addWidget(self.note_edit, 1)
        layout.addLayout(bottom)
        for plot in (self.waveform, self.spectrogram):
            plot.box.clicked.connect(self._on_plot_clicked)
            plot.box.selecting.connect(self._on_plot_selecting)
            plot.box.hovered.connect(lambda t, y, p=plot: self._update_readout(p, t, y))
        self.waveform.box.sigXRangeChanged.connect(self._on_view_range_changed)
        for lane in (self.label_lane, self.suggestion_lane):
            lane.edited.connect(self.status_message)
            lane.selected.connect(lambda region_id, source=lane: self._on_lane_selected(source, region_id))

    def plots_widget(self) -> QWidget:
        return self.plots

    def _build_toolbar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        for name, text, slot, tip in [
            ("open", "Open…", self.open_dialog, "Open a recording (any length)"),
            ("play", "Play", self.playback.toggle,
             "Play or pause: the selection if there is one, else from the cursor (click a plot to move it)"),
            ("fit", "Fit", self.zoom_fit, "Show the whole recording"),
            ("undo", "Undo", None, f"Undo the last change to the regions ({keys_text(undo_keys())})"),
            ("redo", "Redo", None, f"Redo what was undone ({keys_text(redo_keys())})"),
            ("suggest", "Suggest", self.suggest, "Let the current model suggest regions"),
            ("import", "Import…", self.import_dialog,
             "Import labels: add regions from an Audacity, Raven, CSV, Sonic Visualiser, Label Studio or Praat file"),
            ("export", "Export…", self.export_dialog,
             "Export labels: save the accepted regions for Audacity, Raven, a spreadsheet, Sonic Visualiser, "
             "Label Studio or Praat"),
            ("dataset", "Make data set…", self.dataset_dialog,
             "Cut the labelled regions of every annotated recording in this folder into a data set for training"),
        ]:
            button = QPushButton(text)
            button.setToolTip(tip)
            if slot is not None:
                button.clicked.connect(slot)
            bar.addWidget(button)
            setattr(self, f"{name}_button", button)
        self.loop_box = QCheckBox("Loop")
        self.loop_box.setToolTip("Play the selection over and over")
        self.loop_box.toggled.connect(self._update_loop)
        self.follow_box = QCheckBox("Follow")
        self.follow_box.setChecked(True)
        self.follow_box.setToolTip("Page the view along with playback")
        bar.addWidget(self.loop_box)
        bar.addWidget(self.follow_box)
        self._build_speed(bar)
        bar.addStretch(1)
        return bar

    # ---- opening --------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a recording", self.settings.get("file/last_dir"),
                                              AUDIO_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path) -> bool:
        path = Path(path)
        try:
            audio = LongAudio(path)
            track = RegionTrack.open(path)
        except EarmarkError as exc:
            self._show_failure(str(exc))
            return False
        self._close_file()
        self.settings.set("file/last_dir", str(path.parent))
        self.audio, self.track = audio, track
        self._selected_region = self._selected_lane = None
        for lane in (self.label_lane, self.suggestion_lane):
            lane.set_track(track)
        self._merge_track_labels()
        self.playback.set_audio(audio)
        self.set_selection(None)
        self._update_note()
        self.worker = RangeWorker(path, owner=self)
        self.worker.computed.connect(self._on_range_computed)
        self.worker.failed.connect(self._show_failure)
        self.worker.begin()
        self.overview.set_duration(audio.duration_s)
        self.overview_worker = RangeWorker(path, owner=self)  # its own: the view's requests replace each other
        self.overview_worker.computed.connect(self._on_overview_computed)
        self.overview_worker.begin()
        self.overview_worker.request(0.0, audio.duration_s, OVERVIEW_COLUMNS, OVERVIEW_N_FFT)
        for plot in (self.waveform, self.spectrogram):
            plot.box.setLimits(xMin=0.0, xMax=audio.duration_s, minXRange=MIN_SPAN_S)
        track.subscribe(lambda _change: (self._update_file_label(), self._update_overlay(), self._update_note(),
                                         self._update_edit_buttons()))
        self._update_edit_buttons()
        self._update_file_label()
        self.readout.setText("Point at the plots for time, frequency and level; drag to select, N makes a region")
        self.zoom_fit()
        self._request_range()
        self.status_message.emit(f"Opened {path}")
        self.opened.emit(path)
        return True

    def _update_file_label(self) -> None:
        audio, track = self.audio, self.track
        if audio is None or track is None:
            self.file_label.clear()
            return
        hours, rest = divmod(audio.duration_s, 3600)
        pending = track.count(SUGGESTION, PENDING)
        self.file_label.setText(f"{audio.path.name} · {int(hours)}:{int(rest // 60):02d}:{rest % 60:04.1f} · "
                                f"{audio.sample_rate_hz} Hz · {audio.channels} ch · "
                                f"{_count(track.count(state=ACCEPTED), 'region')}"
                                + (f" · {pending} to review" if pending else ""))

    def _close_file(self) -> None:
        for name in ("worker", "overview_worker"):
            worker = getattr(self, name)
            if worker is not None:
                worker.close()  # the registry keeps it if it overruns
                setattr(self, name, None)
        self.playback.set_audio(None)
        self.overlay.clear()
        self.spectrogram.data = None
        if self.audio is not None:
            self.audio.close()
            self.audio = None

    # ---- the visible range ----------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        QTimer.singleShot(0, self._on_view_range_changed)  # after the plots took their new size

    def _request_range(self) -> None:
        if self.worker is None:
            return
        x0, x1 = self.visible_range()
        columns = max(64, int(self.spectrogram.box.sceneBoundingRect().width()))
        spec = self.spectrogram_settings.current()
        self.worker.request(x0, x1, columns, spec.n_fft, window=spec.window, hop_length=spec.hop_length())

    def _on_overview_computed(self, data) -> None:
        if self.sender() is self.overview_worker:
            self.overview.show_envelope(data)

    def _on_range_computed(self, data) -> None:
        if self.sender() is not self.worker:
            return  # a file closed since
        self.waveform.show_range(data)
        self.spectrogram.show_range(data)
        self._update_overlay()
        self.range_shown.emit(data)

    def _on_lane_selected(self, lane: RegionLane, region_id: str | None) -> None:
        """One region is selected at a time, on either lane; its note is editable below."""
        if region_id is None:
            if self._selected_lane is lane:
                self._selected_region = self._selected_lane = None
        else:
            self._selected_region, self._selected_lane = region_id, lane
            other = self.suggestion_lane if lane is self.label_lane else self.label_lane
            if other.selected_id is not None:
                other.select(None)
            if self.selection is not None:  # spent: N made a region of it, or another region is worked on
                self.set_selection(None)    # (a lingering selection made N duplicate it instead of labelling)
        self._update_note()

    def _update_note(self) -> None:
        region_id = self._selected_region
        region = self.track.get(region_id) if self.track is not None and region_id is not None \
            and self.track.has(region_id) else None
        self.note_edit.setEnabled(region is not None)
        self.note_edit.setText(region.note if region is not None else "")

    def _on_note_edited(self) -> None:
        region_id = self._selected_region
        if self.track is None or region_id is None or not self.track.has(region_id):
            return
        if self.note_edit.text() != self.track.get(region_id).note:
            self.track.update(region_id, note=self.note_edit.text())
            self.status_message.emit("Note saved")

    def _update_overlay(self) -> None:
        data = self.spectrogram.data
        if data is not None:
            self.overlay.update(self.track, data.start_s, data.end_s, data.max_freq_hz)

    # ---- mouse on the plots -----------------------------------------------------------
    def _on_plot_clicked(self, time_s: float) -> None:
        """A click puts the cursor there and clears the selection (Play then plays from the cursor)."""
        self.set_selection(None)
        self.playback.seek(time_s)

    def _on_plot_selecting(self, start_s: float, end_s: float, y0: float, y1: float, finished: bool,
                           with_band: bool) -> None:
        if self.audio is None:
            return
        start_s, end_s = max(start_s, 0.0), min(end_s, self.audio.duration_s)
        band = None
        if with_band and self.sender() is self.spectrogram.box:  # Ctrl+drag on the spectrogram: a box
            nyquist = self.audio.sample_rate_hz / 2
            band = tuple(min(max(self.spectrogram.freq_of(y), 0.0), nyquist) for y in (y0, y1))
            band = band if band[1] > band[0] else None
        self.set_selection((start_s, end_s) if end_s > start_s else None, band)
        if finished and self.selection:
            where = f" × {band[0]:.0f}–{band[1]:.0f} Hz" if band else ""
            self.status_message.emit(f"Selected {start_s:.3f}–{end_s:.3f} s{where}: "
                                     "N on the label track makes a region")

    def set_selection(self, span: tuple[float, float] | None, band: tuple[float, float] | None = None) -> None:
        self.selection, self.selection_band = span, (band if span else None)
        self.waveform.show_selection(span)
        self.spectrogram.show_selection(span, self.selection_band)
        self.label_lane.selection, self.label_lane.selection_band = span, self.selection_band
        self._update_loop()

    def _update_loop(self, *_args) -> None:
        self.playback.span = self.selection
        self.playback.loop = self.loop_box.isChecked()

    def _update_readout(self, plot, time_s: float, y: float) -> None:
        if self.audio is None:
            return
        text = f"{time_s:.3f} s"
        if plot is self.spectrogram:
            freq_hz = self.spectrogram.freq_of(y)
            level = self.spectrogram.level_at(time_s, freq_hz)
            text += f" · {freq_hz:.0f} Hz" + (f" · {level:.1f} dB" if level is not None else "")
        else:
            text += f" · amplitude {y:+.3f}"
        regions = self.track.at(time_s) if self.track else []
        if regions:
            text += " · " + ", ".join(r.label or "?" for r in regions)
        self.readout.setText(text)

    # ---- regions ----------------------------------------------------------------------
    def undo(self) -> None:
        if self.track is not None and self.import_worker is None and self.track.undo():
            self.status_message.emit(f"Undone: {self.track.history[-1].describe()} ({keys_text(redo_keys())} redoes)")
        self._update_edit_buttons()  # the history moves after the track has told its listeners

    def redo(self) -> None:
        if self.track is not None and self.import_worker is None and self.track.redo():
            self.status_message.emit(f"Redone: {self.track.history[-1].describe()}")
        self._update_edit_buttons()

    def _update_edit_buttons(self) -> None:
        track = self.track
        self.undo_button.setEnabled(track is not None and track.can_undo)
        self.redo_button.setEnabled(track is not None and track.can_redo)

    def _show_failure(self, message: str) -> None:
        self.readout.setText(message)
        self.status_message.emit(message)
        self.failed.emit(message)

    def shutdown(self) -> None:
        self.catalog.unsubscribe("current", self._on_catalog_current)
        self._request_timer.stop()
        for worker in (self.suggest_worker, self.dataset_worker, self.import_worker):
            if worker is not None:
                worker.close(5.0)
        self._close_file()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
