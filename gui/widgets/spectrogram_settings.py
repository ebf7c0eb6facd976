"""FFT size, window and overlap of a tab's spectrogram: three combo boxes, remembered per tab.

One widget for the File, Annotate and Audit tabs (issue 27). It only says what the person
chose (``changed``, with an :class:`engine.audio.spectrogram.SpectrogramSettings`); each view
recomputes its spectrogram where it already computes it, off the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from engine.audio.spectrogram import FFT_SIZES, OVERLAPS, WINDOWS, SpectrogramSettings
from gui.settings import DEFAULTS, Settings

OVERLAP_TEXT = {0.5: "50%", 0.75: "75%", 0.875: "87.5%"}


def saved_settings(settings: Settings, tab: str) -> SpectrogramSettings:
    """The tab's stored choice; the defaults where a hand-edited settings file holds a value not offered."""
    try:
        return SpectrogramSettings(settings.get(f"{tab}/n_fft"), settings.get(f"{tab}/window"),
                                   settings.get(f"{tab}/overlap"))
    except ValueError:
        return SpectrogramSettings(DEFAULTS[f"{tab}/n_fft"], DEFAULTS[f"{tab}/window"], DEFAULTS[f"{tab}/overlap"])


class SpectrogramSettingsBox(QWidget):
    changed = Signal(object)   # engine.audio.spectrogram.SpectrogramSettings

    def __init__(self, settings: Settings | None = None, tab: str = "file", parent=None) -> None:
        super().__init__(parent)
        self.settings, self.tab = settings, tab
        self.fft_box = QComboBox()
        self.fft_box.addItems([str(n) for n in FFT_SIZES])
        self.fft_box.setToolTip("FFT size: larger resolves close frequencies, smaller resolves quick changes")
        self.window_box = QComboBox()
        self.window_box.addItems(list(WINDOWS))
        self.window_box.setToolTip("Window: Hann is the usual; Hamming gives narrower peaks with more leakage, "
                                   "Blackman less leakage (quiet tones beside loud ones) with wider peaks")
        self.overlap_box = QComboBox()
        for overlap in OVERLAPS:
            self.overlap_box.addItem(OVERLAP_TEXT[overlap], overlap)
        self.overlap_box.setToolTip("Overlap of successive frames: more draws time more smoothly and costs more")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        for text, box in (("FFT", self.fft_box), ("", self.window_box), ("overlap", self.overlap_box)):
            if text:   # the window's names say what they are
                row.addWidget(QLabel(text))
            row.addWidget(box)
        self.set_current(saved_settings(settings, tab) if settings is not None else
                         SpectrogramSettings(DEFAULTS[f"{tab}/n_fft"]))
        for box in (self.fft_box, self.window_box, self.overlap_box):
            box.currentIndexChanged.connect(self._on_box_changed)

    def remember(self, settings: Settings, tab: str) -> None:
        """Keep the choice in ``settings`` under ``tab`` from now on, starting from what is saved there
        (a view built before the app's settings reached it: the Audit tab's)."""
        self.settings, self.tab = settings, tab
        saved = saved_settings(settings, tab)
        if saved != self.current():
            self.set_current(saved)
            self.changed.emit(saved)

    def current(self) -> SpectrogramSettings:
        return SpectrogramSettings(int(self.fft_box.currentText()), self.window_box.currentText(),
                                   float(self.overlap_box.currentData()))

    def set_current(self, spec: SpectrogramSettings) -> None:
        """Show ``spec`` (no ``changed``: the caller draws it)."""
        for box in (self.fft_box, self.window_box, self.overlap_box):
            box.blockSignals(True)
        self.fft_box.setCurrentText(str(spec.n_fft))
        self.window_box.setCurrentText(spec.window)
        self.overlap_box.setCurrentIndex(OVERLAPS.index(spec.overlap))
        for box in (self.fft_box, self.window_box, self.overlap_box):
            box.blockSignals(False)

    def _on_box_changed(self, *_args) -> None:
        spec = self.current()
        if self.settings is not None:
            self.settings.set(f"{self.tab}/n_fft", spec.n_fft)
            self.settings.set(f"{self.tab}/window", spec.window)
            self.settings.set(f"{self.tab}/overlap", spec.overlap)
        self.changed.emit(spec)
