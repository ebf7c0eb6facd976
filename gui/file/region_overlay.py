"""Outlines of regions on the spectrogram: accepted ones solid, pending suggestions dashed.

A region with a frequency band is drawn as its box; one without, over the whole height.
Only regions in the visible range are drawn (at most ``MAX_ITEMS``), so a recording with
thousands of regions costs what its visible part does.
"""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from engine.annotations.regions import ACCEPTED, PENDING, RegionTrack
from gui.file.time_plots import SpectrogramPlot

MAX_ITEMS = 300


class RegionOverlay:
    """The outlines are a pool of rectangle items, reused from update to update: adding and
    removing 300 pyqtgraph items took 30 ms of the GUI thread per edit on a track of a million
    regions (95 ms on a busy machine, against a 100 ms budget for an edit); moving them, about 3."""

    def __init__(self, plot: SpectrogramPlot, color_of: Callable[[str], QColor]) -> None:
        self.plot = plot
        self.color_of = color_of
        self.pool: list[QGraphicsRectItem] = []
        self.items: list[QGraphicsRectItem] = []  # the pool's items in use, in drawing order
        self._pens: dict[tuple[str, str], QPen] = {}

    def clear(self) -> None:
        for item in self.items:
            item.hide()
        self.items = []

    def update(self, track: RegionTrack | None, start_s: float, end_s: float, max_freq_hz: float) -> None:
        if track is None:
            self.clear()
            return
        shown = [r for r in track.between(start_s, end_s, most=4 * MAX_ITEMS)
                 if r.state in (ACCEPTED, PENDING)][:MAX_ITEMS]
        while len(self.pool) < len(shown):
            item = QGraphicsRectItem()
            item.setZValue(4)
            self.plot.addItem(item)
            self.pool.append(item)
        for item, region in zip(self.pool, shown, strict=False):  # the pool may be longer
            low, high = (region.low_hz, region.high_hz) if region.has_band else (0.0, max_freq_hz)
            y0, y1 = self.plot.y_of(low), self.plot.y_of(high)
            item.setRect(QRectF(region.start_s, y0, max(region.duration_s, 1e-6), y1 - y0))
            item.setPen(self._pen(region.label, region.state))
            item.setData(0, region.id)
            item.show()
        for item in self.pool[len(shown):len(self.items)]:
            item.hide()
        self.items = self.pool[:len(shown)]

    def _pen(self, label: str, state: str) -> QPen:
        key = (label, state)
        if key not in self._pens:
            if len(self._pens) > 4 * MAX_ITEMS:  # a bounded cache: labels come and go
                self._pens.clear()
            pen = pg.mkPen(self.color_of(label), width=2)
            pen.setCosmetic(True)
            if state == PENDING:
                pen.setStyle(Qt.PenStyle.DashLine)
            self._pens[key] = pen
        return self._pens[key]
