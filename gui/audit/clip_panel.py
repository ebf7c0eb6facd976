"""The selected clip: waveform, spectrogram, a play cursor and an optional saliency overlay."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from engine.audio.io import Audio
from engine.audio.spectrogram import Spectrogram, spectrogram_db
from gui.widgets.plots import ClipSpectrogram, ClipWaveform

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
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.audio: Audio | None = None
        self.freqs_hz = np.zeros(0)

    def show_audio(self, audio: Audio, spec: Spectrogram | None = None) -> None:
        """Draw ``audio`` and its spectrogram (computed off the GUI thread by the caller, normally)."""
        self.audio = audio
        rate = audio.sample_rate_hz
        if spec is None:
            spec = spectrogram_db(audio.samples, rate, n_fft=1024 if rate > 24000 else 512)
        self.freqs_hz = spec.freqs_hz
        self.waveform.show_clip(audio.samples, rate)
        self.spectrogram.show_spectrogram(spec.db, audio.duration_s, spec.max_freq_hz)
        self.waveform.setXRange(0, audio.duration_s, padding=0)
        self.clear_saliency()
        self.move_cursor(0.0)

    def clear(self) -> None:
        self.audio = None
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
