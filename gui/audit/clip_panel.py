"""The selected clip: an overview strip, waveform, spectrogram, a play cursor and an optional saliency
overlay, with the spectrogram's FFT size, window and overlap above them."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from engine.audio.io import Audio
from engine.audio.spectrogram import Spectrogram, spectrogram_with
from gui.file.overview import OverviewStrip
from gui.widgets.plots import ClipSpectrogram, ClipWaveform
from gui.widgets.spectrogram_settings import SpectrogramSettingsBox

SALIENCY_OPACITY = 0.7


def _saliency_colormap() -> pg.ColorMap:
    """Transparent where the model did not look, bright cyan where it did."""
    colors = np.array([[0, 255, 200, 0], [0, 255, 200, 0], [0, 255, 200, 150], [160, 255, 230, 255]],
                      dtype=np.ubyte)
    return pg.ColorMap(np.array([0.0, 0.15, 0.5, 1.0]), colors)


def mel_to_linear(saliency: np.ndarray, mel_centres_hz: np.ndarray, freqs_hz: np.ndarray) -> np.ndarray:
    """Resample a ``[n_mels, frames]`` map onto linear frequencies: ``[frames, n_freqs]`` (time-major)."""
    out = np.empty((saliency.shape[1], freqs_hz.size), dtype=np.float32)
    for t in range(saliency.shape[1]):
        out[t] = np.interp(freqs_hz, mel_centres_hz, saliency[:, t], left=0.0, right=0.0)
    return out


class ClipPanel(QWidget):
    seek_requested = Signal(float)   # a click on the overview strip: play from there (s)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.spectrogram_settings = SpectrogramSettingsBox(tab="audit")   # remembered once the window has settings
        self.overview = OverviewStrip()   # the whole clip's envelope; click to play from there
        self.overview.setToolTip("The whole clip: click to play from there, drag the box to move a zoomed view")
        self.overview.box.clicked.connect(self.seek_requested)
        self.waveform = ClipWaveform()
        self.spectrogram = ClipSpectrogram()
        self.spectrogram.setXLink(self.waveform)
        self.spectrogram.getPlotItem().setLabel("bottom", "time (s)")
        self.overlay = pg.ImageItem(axisOrder="col-major")
        self.overlay.setColorMap(_saliency_colormap())
        self.overlay.setOpacity(SALIENCY_OPACITY)
        self.overlay.setZValue(10)
        self.spectrogram.addItem(self.overlay)
        self.cursors = [pg.InfiniteLine(0.0, pen=pg.mkPen("#f0f6fc", width=1)) for _ in range(2)]
        for plot, line in zip((self.waveform, self.spectrogram), self.cursors, strict=True):
            plot.addItem(line)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.waveform)
        splitter.addWidget(self.spectrogram)
        splitter.setSizes([150, 300])
        self.overview.moved.connect(lambda a, b: self.waveform.setXRange(a, b, padding=0))
        self.waveform.sigXRangeChanged.connect(self._update_overview)
        settings_row = QHBoxLayout()
        settings_row.addWidget(QLabel("Spectrogram"))
        settings_row.addWidget(self.spectrogram_settings)
        settings_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(settings_row)
        layout.addWidget(self.overview)
        layout.addWidget(splitter, 1)
        self.audio: Audio | None = None
        self.freqs_hz = np.zeros(0)

    def show_audio(self, audio: Audio, spec: Spectrogram | None = None) -> None:
        """Draw ``audio`` and its spectrogram (computed off the GUI thread by the caller, normally)."""
        self.audio = audio
        rate = audio.sample_rate_hz
        if spec is None:
            spec = spectrogram_with(audio.samples, rate, self.spectrogram_settings.current())
        self.waveform.show_clip(audio.samples, rate)
        self.overview.set_duration(audio.duration_s)
        self.overview.show_samples(audio.samples, rate)
        self.show_spectrogram(spec)
        self.waveform.setXRange(0, audio.duration_s, padding=0)
        self.clear_saliency()
        self.move_cursor(0.0)

    def show_spectrogram(self, spec: Spectrogram) -> None:
        """The shown clip's spectrogram, recomputed with other settings (the saliency overlay stays)."""
        if self.audio is None:
            return
        self.freqs_hz = spec.freqs_hz
        self.spectrogram.show_spectrogram(spec.db, self.audio.duration_s, spec.max_freq_hz)

    def _update_overview(self, *_args) -> None:
        (x0, x1), _ = self.waveform.viewRange()
        box = self.waveform.getPlotItem().getViewBox()
        self.overview.show_view(float(x0), float(x1))
        self.overview.align_left(self.waveform.mapFromScene(box.sceneBoundingRect().topLeft()).x())

    def clear(self) -> None:
        self.audio = None
        self.overview.set_duration(1.0)
        self.waveform.curve.setData([], [])
        self.spectrogram.item.clear()
        self.clear_saliency()

    def move_cursor(self, position_s: float) -> None:
        for line in self.cursors:
            line.setValue(position_s)

    def clear_saliency(self) -> None:
        self.overlay.clear()
        self.overlay.setVisible(False)

    def show_saliency(self, saliency: np.ndarray, mel_centres_hz: np.ndarray, hop_s: float) -> None:
        """Overlay a ``[n_mels, frames]`` map in [0, 1] (frames ``hop_s`` apart) on the spectrogram."""
        if self.audio is None or self.freqs_hz.size == 0:
            return
        image = mel_to_linear(saliency, mel_centres_hz, self.freqs_hz)
        self.overlay.setImage(image, levels=(0.0, 1.0), autoLevels=False)
        self.overlay.setRect(0, 0, saliency.shape[1] * hop_s, float(self.freqs_hz[-1]))
        self.overlay.setVisible(True)

    @property
    def saliency_shown(self) -> bool:
        return self.overlay.isVisible() and self.overlay.image is not None
