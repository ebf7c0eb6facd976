"""Plots of a long recording on one time axis: a min/max waveform and a range spectrogram.

Both use :class:`TimeViewBox`: a left click seeks, a left drag selects a time span,
shift+drag or a middle drag pans, the wheel zooms time. They draw whatever
:class:`engine.audio.ranges.RangeData` the range worker sends for the visible range.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QGraphicsRectItem

from engine.audio.mel import hz_to_mel, mel_to_hz
from engine.audio.ranges import RangeData, hz_to_log, log_to_hz, scaled_rows
from gui.file.overview import ClockAxis
from gui.widgets.plots import style_plot
from gui.widgets.spectrogram_view import FreqZoomBox

COLORMAPS = ("inferno", "viridis", "magma", "CET-L1")
FREQ_AXES = ("linear", "mel", "log")
SCALES = {"mel": (hz_to_mel, mel_to_hz), "log": (hz_to_log, log_to_hz)}  # Hz -> plot height and back
MEL_ROWS = 256
MIN_FREQ_SPAN_HZ = 50.0
MEL_TICKS_HZ = (100, 250, 500, 1000, 2000, 4000, 8000, 16000)
LOG_TICKS_HZ = (20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
SELECTION_BRUSH = pg.mkBrush(88, 166, 255, 50)


class TimeViewBox(FreqZoomBox):
    """The wheel zooms time; with Ctrl, or over the frequency axis, it zooms frequency (FreqZoomBox)."""

    clicked = Signal(float)                  # time (s)
    selecting = Signal(float, float, float, float, bool, bool)  # start, end (s), y0, y1, finished, with band (Ctrl)
    hovered = Signal(float, float)           # time (s), y in data units

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=True, y=False)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph API
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.clicked.emit(float(self.mapSceneToView(ev.scenePos()).x()))
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - pyqtgraph API
        plain_left = ev.button() == Qt.MouseButton.LeftButton and not (
            ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if not plain_left:
            if ev.button() == Qt.MouseButton.MiddleButton:
                ev.accept()
                delta = self.mapToView(ev.lastPos()).x() - self.mapToView(ev.pos()).x()
                self.translateBy(x=delta)
                return
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        down, now = self.mapToView(ev.buttonDownPos()), self.mapToView(ev.pos())
        start, end = sorted((float(down.x()), float(now.x())))
        y0, y1 = sorted((float(down.y()), float(now.y())))
        with_band = bool(ev.modifiers() & Qt.KeyboardModifier.ControlModifier)
        self.selecting.emit(start, end, y0, y1, bool(ev.isFinish()), with_band)


class _TimePlot(pg.PlotWidget):
    def __init__(self, left: str, bottom: str | None = None, parent=None) -> None:
        self.box = TimeViewBox()
        super().__init__(parent, viewBox=self.box, axisItems={"bottom": ClockAxis("bottom")})
        style_plot(self, left=left, bottom=bottom, menu=True)
        self.cursor = pg.InfiniteLine(0.0, pen=pg.mkPen("#f0f6fc", width=1))
        self.selection = pg.LinearRegionItem((0, 0), movable=False, brush=SELECTION_BRUSH)
        self.selection.setZValue(5)
        self.selection.hide()
        self.addItem(self.selection)
        self.addItem(self.cursor)
        crosshair_pen = pg.mkPen(255, 255, 255, 90, width=1, style=Qt.PenStyle.DashLine)
        self.crosshair = (pg.InfiniteLine(angle=90, pen=crosshair_pen, movable=False),
                          pg.InfiniteLine(angle=0, pen=crosshair_pen, movable=False))
        for line in self.crosshair:
            line.setZValue(6)
            line.hide()
            self.addItem(line, ignoreBounds=True)
        self.scene().sigMouseMoved.connect(self._on_scene_moved)

    def _on_scene_moved(self, pos) -> None:
        inside = self.box.sceneBoundingRect().contains(pos)
        for line in self.crosshair:
            line.setVisible(inside)
        if inside:
            point = self.box.mapSceneToView(pos)
            self.crosshair[0].setValue(point.x())
            self.crosshair[1].setValue(point.y())
            self.box.hovered.emit(float(point.x()), float(point.y()))

    def show_selection(self, span: tuple[float, float] | None, band: tuple[float, float] | None = None) -> None:
        if span is None or span[1] <= span[0]:
            self.selection.hide()
            return
        self.selection.setRegion(span)
        self.selection.show()


class WaveformPlot(_TimePlot):
    """Min/max envelope per pixel column of the visible range."""

    def __init__(self, parent=None) -> None:
        super().__init__("amplitude", parent=parent)
        pen = pg.mkPen("#58a6ff", width=1)
        self.upper = self.plot(pen=pen)
        self.lower = self.plot(pen=pen)
        self.fill = pg.FillBetweenItem(self.upper, self.lower, brush=pg.mkBrush(88, 166, 255, 120))
        self.addItem(self.fill)
        self.setYRange(-1.0, 1.0, padding=0.02)
        self.data: RangeData | None = None

    def show_range(self, data: RangeData) -> None:
        self.data = data
        x = data.start_s + (np.arange(data.n_columns) + 0.5) * data.column_s
        self.upper.setData(x, data.maxs)
        self.lower.setData(x, data.mins)
        peak = float(max(np.abs(data.mins).max(initial=0), np.abs(data.maxs).max(initial=0)))
        self.setYRange(-max(peak, 0.05), max(peak, 0.05), padding=0.05)


class SpectrogramPlot(_TimePlot):
    """The visible range's spectrogram, one column per pixel, recomputed on every zoom."""

    def __init__(self, parent=None) -> None:
        super().__init__("frequency (Hz)", parent=parent)
        self.item = pg.ImageItem(axisOrder="col-major")
        self.addItem(self.item)
        self.item.setZValue(-10)
        self.db_range = 80.0
        self.db_top: float | None = None  # the level drawn brightest (dB re full scale); None: the loudest in view
        self.freq_axis = "linear"
        self.set_colormap(COLORMAPS[0])
        self.data: RangeData | None = None
        self.freq_view: tuple[float, float] | None = None  # the frequencies shown (Hz); None: all of them
        self.box.wheel_y.connect(self._on_wheel_y)
        self.image_db = None  # what is drawn: linear bins, or mel rows
        self.band_box = QGraphicsRectItem()
        self.band_box.setPen(pg.mkPen("#58a6ff", width=0))
        self.band_box.setBrush(SELECTION_BRUSH)
        self.band_box.setZValue(5)
        self.band_box.hide()
        self.addItem(self.band_box)

    def set_colormap(self, name: str) -> None:
        self.colormap_name = name
        self.item.setColorMap(pg.colormap.get(name))

    def show_range(self, data: RangeData) -> None:
        self.data = data
        if self.freq_axis in SCALES:
            forward, inverse = SCALES[self.freq_axis]
            self.image_db, _ = scaled_rows(data.db, data.max_freq_hz, MEL_ROWS, forward, inverse)
            height = float(forward(data.max_freq_hz))
            axis = self.getPlotItem().getAxis("left")
            ticks = MEL_TICKS_HZ if self.freq_axis == "mel" else LOG_TICKS_HZ
            axis.setTicks([[(float(forward(f)), f"{f:g}") for f in ticks if f <= data.max_freq_hz]])
        else:
            self.image_db, height = data.db, data.max_freq_hz
            self.getPlotItem().getAxis("left").setTicks(None)
        loudest = float(self.image_db.max()) if self.image_db.size else 0.0  # silence draws black
        top = loudest if self.db_top is None else float(self.db_top)  # a fixed top keeps quiet stretches dark
        self.item.setImage(self.image_db, levels=(top - self.db_range, top), autoLevels=False)
        bottom = float(SCALES[self.freq_axis][0](0.0)) if self.freq_axis in SCALES else 0.0
        self.item.setRect(data.start_s, bottom, max(data.end_s - data.start_s, 1e-6), height - bottom)
        self._update_freq_view()

    def set_freq_view(self, low_hz: float | None, high_hz: float | None = None) -> None:
        """Show ``low_hz``..``high_hz`` of the spectrum (``None``: all of it)."""
        top = self.data.max_freq_hz if self.data is not None else None
        if low_hz is None or high_hz is None or top is None:
            self.freq_view = None
        else:
            low_hz, high_hz = max(0.0, float(low_hz)), min(float(top), float(high_hz))
            self.freq_view = None if high_hz - low_hz >= top or high_hz <= low_hz else (low_hz, high_hz)
        self._update_freq_view()

    def zoom_frequency(self, factor: float, centre_hz: float) -> None:
        """Zoom the frequency axis by ``factor`` (< 1: in) around ``centre_hz``, at least 50 Hz wide."""
        if self.data is None:
            return
        low, high = self.freq_view or (0.0, self.data.max_freq_hz)
        y0, y1, yc = self.y_of(low), self.y_of(high), self.y_of(centre_hz)
        span = max((y1 - y0) * factor, 1e-6)
        share = (yc - y0) / max(y1 - y0, 1e-9)
        new_low, new_high = self.freq_of(yc - share * span), self.freq_of(yc + (1 - share) * span)
        if new_high - new_low < MIN_FREQ_SPAN_HZ:
            return
        self.set_freq_view(new_low, new_high)

    def _on_wheel_y(self, factor: float, y: float) -> None:
        self.zoom_frequency(factor, self.freq_of(y))

    def _update_freq_view(self) -> None:
        if self.data is None:
            return
        low, high = self.freq_view or (0.0, self.data.max_freq_hz)
        self.setYRange(self.y_of(low), self.y_of(high), padding=0)

    def show_selection(self, span: tuple[float, float] | None, band: tuple[float, float] | None = None) -> None:
        """A time span (the whole height), or with ``band`` (Hz) a box."""
        super().show_selection(None if band else span)
        if span is None or band is None:
            self.band_box.hide()
            return
        y0, y1 = self.y_of(band[0]), self.y_of(band[1])
        self.band_box.setRect(QRectF(span[0], y0, span[1] - span[0], y1 - y0))
        self.band_box.show()

    def y_of(self, freq_hz: float) -> float:
        """The height of ``freq_hz`` on the plot (mel units on a mel axis)."""
        return float(SCALES[self.freq_axis][0](freq_hz)) if self.freq_axis in SCALES else float(freq_hz)

    def freq_of(self, y: float) -> float:
        """The frequency (Hz) at height ``y`` of the plot (mel units on a mel axis)."""
        return float(SCALES[self.freq_axis][1](y)) if self.freq_axis in SCALES else float(y)

    def level_at(self, time_s: float, freq_hz: float) -> float | None:
        """dB of the analysed spectrum under a point, or None outside it."""
        data = self.data
        if data is None or not (data.start_s <= time_s < data.end_s) or not 0 <= freq_hz <= data.max_freq_hz:
            return None
        col = min(int((time_s - data.start_s) / data.column_s), data.n_columns - 1)
        row = min(int(round(freq_hz / data.max_freq_hz * (data.db.shape[1] - 1))), data.db.shape[1] - 1)
        return float(data.db[col, row])
