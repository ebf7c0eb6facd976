"""Outlines of regions on the spectrogram: accepted ones solid, pending suggestions dashed.

A region with a frequency band is drawn as its box; one without, over the whole height.
Only regions in the visible range are drawn (at most ``MAX_ITEMS``), so a recording with
thousands of regions costs what its visible part does.
"""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsRectItem

from engine.annotations.regions import ACCEPTED, PENDING, RegionTrack
from gui.file.time_plots import SpectrogramPlot

MAX_ITEMS = 300


class RegionOverlay:
    def __init__(self, plot: SpectrogramPlot, color_of: Callable[[str], QColor]) -> None:
        self.plot = plot
        self.color_of = color_of
        self.items: list[QGraphicsRectItem] = []

    def clear(self) -> None:
        for item in self.items:
            self.plot.removeItem(item)
        self.items = []

    def update(self, track: RegionTrack | None, start_s: float, end_s: float, max_freq_hz: float) -> None:
        self.clear()
        if track is None:
            return
        shown = [r for r in track.between(start_s, end_s, most=4 * MAX_ITEMS)
                 if r.state in (ACCEPTED, PENDING)][:MAX_ITEMS]
        for region in shown:
            low, high = (region.low_hz, region.high_hz) if region.has_band else (0.0, max_freq_hz)
            y0, y1 = self.plot.y_of(low), self.plot.y_of(high)
            item = QGraphicsRectItem(QRectF(region.start_s, y0, max(region.duration_s, 1e-6), y1 - y0))
            pen = pg.mkPen(self.color_of(region.label), width=2)
            pen.setCosmetic(True)
            if region.state == PENDING:
                pen.setStyle(Qt.PenStyle.DashLine)
            item.setPen(pen)
            item.setZValue(4)
            item.setData(0, region.id)
            self.plot.addItem(item)
            self.items.append(item)
