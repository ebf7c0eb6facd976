"""A strip over the whole recording that shows where the view is, and moves it.

The strip draws the whole file's min/max envelope once (one request to its own
:class:`gui.file.range_worker.RangeWorker`), and over it the visible range as a shaded box:
drag the box to move the view, click anywhere to centre the view there, turn the wheel to
pan. Times read as h:mm:ss on long recordings (:class:`ClockAxis`).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

from engine.audio.ranges import RangeData

OVERVIEW_COLUMNS = 800
OVERVIEW_HEIGHT_PX = 46
WHEEL_PAN = 0.2   # one wheel step pans a fifth of the view


def clock(seconds: float, span_s: float) -> str:
    """``seconds`` as ``s`` for short spans, ``m:ss`` or ``h:mm:ss`` for long ones."""
    if span_s < 120:
        return f"{seconds:g}"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours or span_s >= 3600 else f"{minutes}:{secs:02d}"


class ClockAxis(pg.AxisItem):
    """A time axis in seconds that reads as m:ss or h:mm:ss once the range is minutes long."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph API
        low, high = self.range
        span = abs(high - low)
        if span < 120:
            return super().tickStrings(values, scale, spacing)
        return [clock(v * scale, span) for v in values]


class _StripBox(pg.ViewBox):
    clicked = Signal(float)
    wheeled = Signal(int)  # wheel steps (positive: forwards)

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=False, y=False)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph API
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.clicked.emit(float(self.mapSceneToView(ev.scenePos()).x()))

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - pyqtgraph API
        ev.ignore()   # only the view's box is dragged

    def wheelEvent(self, ev, axis=None) -> None:  # noqa: N802 - pyqtgraph API
        ev.accept()
        delta = ev.delta() if hasattr(ev, "delta") else ev.angleDelta().y()
        self.wheeled.emit(-1 if delta > 0 else 1)


class OverviewStrip(pg.PlotWidget):
    moved = Signal(float, float)   # the view's new start and end (s), from the person

    def __init__(self, parent=None) -> None:
        self.box = _StripBox()
        super().__init__(parent, viewBox=self.box, axisItems={"bottom": ClockAxis("bottom")})
        self.setFixedHeight(OVERVIEW_HEIGHT_PX)
        self.setBackground("#0d1117")
        item = self.getPlotItem()
        item.getAxis("left").setStyle(showValues=False, tickLength=0)
        item.getAxis("left").setPen(pg.mkPen(None))
        item.getAxis("bottom").setHeight(16)
        item.setContentsMargins(0, 0, 0, 0)
        pen = pg.mkPen("#6e7681", width=1)
        self.upper, self.lower = self.plot(pen=pen), self.plot(pen=pen)
        self.addItem(pg.FillBetweenItem(self.upper, self.lower, brush=pg.mkBrush(110, 118, 129, 110)))
        self.view_box = pg.LinearRegionItem((0, 1), brush=pg.mkBrush(88, 166, 255, 70),
                                            pen=pg.mkPen("#58a6ff", width=1))
        self.view_box.setZValue(10)
        self.addItem(self.view_box)
        self.duration_s = 1.0
        self._updating = False
        self.view_box.sigRegionChanged.connect(self._on_box_dragged)
        self.box.clicked.connect(self._on_clicked)
        self.box.wheeled.connect(lambda steps: self.pan(steps * WHEEL_PAN))
        self.setToolTip("The whole recording: drag the box to move the view, click to go there, wheel to pan")

    def set_duration(self, duration_s: float) -> None:
        self.duration_s = max(float(duration_s), 1e-6)
        self.upper.setData([], [])
        self.lower.setData([], [])
        self.box.setLimits(xMin=0.0, xMax=self.duration_s)
        self.setXRange(0.0, self.duration_s, padding=0)
        self.view_box.setBounds((0.0, self.duration_s))

    def show_envelope(self, data: RangeData) -> None:
        x = data.start_s + (np.arange(data.n_columns) + 0.5) * data.column_s
        self.show_envelope_of(x, data.mins, data.maxs)

    def show_samples(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        """The envelope of a clip held in memory (the File tab's)."""
        n = samples.size
        per = max(1, n // OVERVIEW_COLUMNS)
        usable = samples[: (n // per) * per].reshape(-1, per) if n else np.zeros((0, 1), np.float32)
        x = (np.arange(usable.shape[0]) + 0.5) * per / sample_rate_hz
        self.show_envelope_of(x, usable.min(axis=1, initial=0.0), usable.max(axis=1, initial=0.0))

    def show_envelope_of(self, x: np.ndarray, mins: np.ndarray, maxs: np.ndarray) -> None:
        self.upper.setData(x, maxs)
        self.lower.setData(x, mins)
        peak = float(max(np.abs(mins).max(initial=0), np.abs(maxs).max(initial=0)))
        self.setYRange(-max(peak, 0.05), max(peak, 0.05), padding=0.05)
        self.setXRange(0.0, self.duration_s, padding=0)

    def align_left(self, margin_px: float) -> None:
        """Start the strip's data area ``margin_px`` from its left, where the plots' starts."""
        axis = self.getPlotItem().getAxis("left")
        width = max(int(round(margin_px)), 1)
        if axis.width() != width:
            axis.setWidth(width)

    def show_view(self, start_s: float, end_s: float) -> None:
        """The plots' visible range (not a move of the person's: no ``moved``)."""
        self._updating = True
        try:
            self.view_box.setRegion((start_s, end_s))
        finally:
            self._updating = False

    def view(self) -> tuple[float, float]:
        low, high = self.view_box.getRegion()
        return float(low), float(high)

    def pan(self, fraction: float) -> None:
        start, end = self.view()
        span = end - start
        start = min(max(start + fraction * span, 0.0), max(self.duration_s - span, 0.0))
        self.moved.emit(start, start + span)

    def _on_clicked(self, time_s: float) -> None:
        start, end = self.view()
        span = end - start
        start = min(max(time_s - span / 2, 0.0), max(self.duration_s - span, 0.0))
        self.moved.emit(start, start + span)

    def _on_box_dragged(self) -> None:
        if not self._updating:
            self.moved.emit(*self.view())
