"""pyqtgraph plots for audio: scrolling live plots and zoomable clip plots.

Live plots keep preallocated arrays and only call ``setData``/``setImage`` from the GUI
timer; they never compute anything heavier than an envelope.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np

# np.percentile (the spectrogram's colour levels) imports numpy.ma lazily on its first call, and under
# PySide every import runs shiboken's feature hook, which reads the module's source: 0.15 s on the
# GUI thread when the first clip is shown (faulthandler dumps of tests/gui/test_gui_stalls.py in the
# suite). Imported here, with the rest of the app, instead.
import numpy.ma  # noqa: F401
import pyqtgraph as pg

from gui.widgets.spectrogram_view import (
    COLORMAPS,
    DB_RANGES,
    FreqZoomBox,
    SpectrogramLook,
    look_menu,
    zoomed_band,
)

BACKGROUND = "#101114"
WAVE_PEN = pg.mkPen("#58a6ff", width=1)
DB_RANGE = (-100.0, -10.0)
LEFT_AXIS_PX = 110


def style_plot(plot: pg.PlotWidget, *, left: str, bottom: str | None, menu: bool = False) -> None:
    """Earmark's look for every audio plot (live, clip and annotation views)."""
    plot.setBackground(BACKGROUND)
    item = plot.getPlotItem()
    item.setLabel("left", left)
    if bottom:
        item.setLabel("bottom", bottom)
    item.showGrid(x=True, y=False, alpha=0.15)
    item.setMenuEnabled(menu)
    item.hideButtons()
    for name in ("left", "bottom"):
        item.getAxis(name).enableAutoSIPrefix(False)
    item.getAxis("left").setWidth(LEFT_AXIS_PX)  # equal widths keep X-linked plots aligned


def envelope(samples: np.ndarray, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Min/max envelope of ``samples`` as 2*n_points values and their sample positions."""
    n = samples.size
    if n <= 2 * n_points:
        return np.arange(n, dtype=np.float64), samples
    per = n // n_points
    trimmed = samples[n - per * n_points:].reshape(n_points, per)
    out = np.empty(2 * n_points, dtype=np.float32)
    out[0::2] = trimmed.min(axis=1)
    out[1::2] = trimmed.max(axis=1)
    positions = (n - per * n_points) + np.repeat(np.arange(n_points) * per, 2) + np.tile([0, per - 1], n_points)
    return positions.astype(np.float64), out


def spectrogram_colormap() -> pg.ColorMap:
    return pg.colormap.get("inferno")


class ScrollingWaveform(pg.PlotWidget):
    """The last ``seconds`` of audio, newest on the right (time axis in seconds before now)."""

    def __init__(self, seconds: float = 5.0, n_points: int = 1500, parent=None) -> None:
        super().__init__(parent)
        style_plot(self, left="amplitude", bottom=None)
        self.seconds = seconds
        self.n_points = n_points
        self.setYRange(-1.0, 1.0, padding=0.02)
        self.setXRange(-seconds, 0, padding=0)
        self.setMouseEnabled(x=False, y=False)
        self.curve = self.plot(pen=WAVE_PEN)
        self.curve.setClipToView(True)

        # the audio the label now shown was made from (its window), in seconds before now
        self.span = pg.LinearRegionItem((-1.0, 0.0), movable=False, brush=pg.mkBrush(88, 166, 255, 40),
                                        pen=pg.mkPen("#58a6ff", width=1, style=pg.QtCore.Qt.PenStyle.DashLine))
        self.span.setZValue(-10)
        self.span.setVisible(False)
        self.span.setToolTip("The audio the label shown was made from (the classification window)")
        self.addItem(self.span)

    def show_samples(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        positions, values = envelope(samples, self.n_points)
        self.curve.setData((positions - samples.size) / sample_rate_hz, values)

    def show_span(self, start_ago_s: float | None, end_ago_s: float = 0.0) -> None:
        """Shade ``start_ago_s`` to ``end_ago_s`` seconds before now; None hides the shading."""
        if start_ago_s is None:
            self.span.setVisible(False)
            return
        self.span.setRegion((-start_ago_s, -end_ago_s))
        self.span.setVisible(True)

    @property
    def span_ago_s(self) -> tuple[float, float] | None:
        """(start, end) of the shaded window in seconds before now, or None when hidden."""
        if not self.span.isVisible():
            return None
        low, high = self.span.getRegion()
        return -low, -high


class ScrollingSpectrogram(pg.PlotWidget):
    """A waterfall of the last ``n_columns`` spectrogram columns; columns enter on the right."""

    def __init__(self, n_columns: int, n_freqs: int, column_s: float, max_freq_hz: float, parent=None) -> None:
        super().__init__(parent)
        style_plot(self, left="frequency (Hz)", bottom="seconds before now")
        self.setMouseEnabled(x=False, y=False)
        self.item = pg.ImageItem(axisOrder="col-major")
        self.item.setColorMap(spectrogram_colormap())
        self.addItem(self.item)
        self.configure(n_columns, n_freqs, column_s, max_freq_hz)

    def configure(self, n_columns: int, n_freqs: int, column_s: float, max_freq_hz: float) -> None:
        """Resize for another sample rate or FFT size; clears the picture."""
        self.image = np.full((n_columns, n_freqs), DB_RANGE[0], dtype=np.float32)
        self.column_s = column_s
        self.max_freq_hz = max_freq_hz
        self.item.setImage(self.image, levels=DB_RANGE, autoLevels=False)
        self._place()

    def _place(self) -> None:
        n_cols, _ = self.image.shape
        span = n_cols * self.column_s
        self.item.setRect(-span, 0, span, self.max_freq_hz)
        self.setXRange(-span, 0, padding=0)
        self.setYRange(0, self.max_freq_hz, padding=0)

    def clear_columns(self) -> None:
        self.image[:] = DB_RANGE[0]
        self.item.setImage(self.image, levels=DB_RANGE, autoLevels=False)

    def push(self, columns: np.ndarray) -> None:
        k = min(columns.shape[0], self.image.shape[0])
        if k == 0:
            return
        self.image[:-k] = self.image[k:]
        self.image[-k:] = columns[-k:]
        self.item.setImage(self.image, levels=DB_RANGE, autoLevels=False)


class ClipWaveform(pg.PlotWidget):
    """A whole clip's waveform, zoomable; redraws its envelope for the visible range."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        style_plot(self, left="amplitude", bottom=None)
        self.setMouseEnabled(x=True, y=False)
        self.curve = self.plot(pen=WAVE_PEN)
        self.curve.setDownsampling(auto=True, method="peak")
        self.curve.setClipToView(True)
        self.setYRange(-1.0, 1.0, padding=0.02)

    def show_clip(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        times = np.arange(samples.size, dtype=np.float64) / sample_rate_hz
        self.curve.setData(times, samples)
        peak = float(np.max(np.abs(samples))) if samples.size else 1.0
        self.setYRange(-max(peak, 0.05), max(peak, 0.05), padding=0.05)


class ClipSpectrogram(pg.PlotWidget):
    """A clip's spectrogram (File, Audit, the wizard's preview): Ctrl+wheel, or the wheel over the
    frequency axis, zooms frequency; a right click changes its colours and dB range."""

    def __init__(self, parent=None) -> None:
        self.box = FreqZoomBox(enableMenu=False)
        super().__init__(parent, viewBox=self.box)
        style_plot(self, left="frequency (Hz)", bottom=None)
        self.setMouseEnabled(x=True, y=False)
        self.item = pg.ImageItem(axisOrder="col-major")
        self.look = SpectrogramLook()
        self.band: tuple[float, float] | None = None   # the frequencies shown (Hz); None: all
        self.max_freq_hz = 1.0
        self._db: np.ndarray | None = None
        self.item.setColorMap(spectrogram_colormap())
        self.addItem(self.item)
        self.box.wheel_y.connect(self.zoom_frequency)

    def show_spectrogram(self, db: np.ndarray, duration_s: float, max_freq_hz: float) -> None:
        self._db, self.max_freq_hz = db, float(max_freq_hz)
        self._update_levels()
        self.item.setRect(0, 0, max(duration_s, 1e-3), max_freq_hz)
        self._update_band()

    def zoom_frequency(self, factor: float, centre_hz: float) -> None:
        low, high = self.band or (0.0, self.max_freq_hz)
        self.band = zoomed_band(low, high, self.max_freq_hz, factor, centre_hz)
        self._update_band()

    def remember(self, settings, key: str) -> None:
        """Keep the look in ``settings`` under ``key`` (JSON), starting from what is saved there."""
        self._settings, self._key = settings, key
        try:
            saved = json.loads(settings.get(key) or "{}")
        except (TypeError, ValueError):
            saved = {}
        if saved.get("colormap") in COLORMAPS:
            self.look.colormap = saved["colormap"]
        if saved.get("db_range") in DB_RANGES:
            self.look.db_range = float(saved["db_range"])
        self.item.setColorMap(pg.colormap.get(self.look.colormap))
        self._update_levels()

    def contextMenuEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.menu = look_menu(self, self.look, self._on_look_changed, lambda: self.zoom_frequency(1e9, 0.0))
        self.menu.popup(event.globalPos())

    def _on_look_changed(self) -> None:
        self.item.setColorMap(pg.colormap.get(self.look.colormap))
        self._update_levels()
        if getattr(self, "_settings", None) is not None:
            self._settings.set(self._key, json.dumps(asdict(self.look)))

    def _update_levels(self) -> None:
        db = self._db
        if db is None:
            return
        top = float(np.percentile(db, 99.5)) if db.size else 0.0
        self.item.setImage(db, levels=(top - self.look.db_range, top), autoLevels=False)

    def _update_band(self) -> None:
        low, high = self.band or (0.0, self.max_freq_hz)
        self.setYRange(low, high, padding=0)


class PredictionTimeline(pg.PlotWidget):
    """Sliding-window probabilities as a heat map: one row per label, time on x."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        style_plot(self, left="", bottom="time (s)")
        self.setMouseEnabled(x=True, y=False)
        self.item = pg.ImageItem(axisOrder="col-major")
        self.item.setColorMap(pg.colormap.get("viridis"))
        self.addItem(self.item)

    def show_windows(self, starts_s: np.ndarray, probs: np.ndarray, labels: list[str], window_s: float) -> None:
        hop = float(starts_s[1] - starts_s[0]) if len(starts_s) > 1 else window_s
        self.item.setImage(probs.astype(np.float32), levels=(0.0, 1.0), autoLevels=False)
        # each column is centred on its window's centre
        self.item.setRect(float(starts_s[0]) + window_s / 2 - hop / 2, 0, hop * len(starts_s), len(labels))
        axis = self.getPlotItem().getAxis("left")
        axis.setTicks([[(i + 0.5, label) for i, label in enumerate(labels)]])
        self.setYRange(0, len(labels), padding=0)

    def clear_windows(self) -> None:
        self.item.clear()
