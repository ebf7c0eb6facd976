"""Many small dots drawn as one image: numpy puts each dot's pixels into a buffer the size of the
visible plot, and the painter draws that buffer once.

Why not ``pg.ScatterPlotItem``: at 100,000 dots in a 1366×768 window (offscreen, the shared 2-core
machine) its paint (one pixmap fragment per dot, even with one brush per colour and no pens) took
55-117 ms, so panning stalled the GUI thread past 100 ms (``tests/gui/test_index_map_stalls.py``:
longest stall 117 ms, only 37 heartbeat ticks in 2 s). Rasterising with numpy costs a few
array operations per dot and one image draw per paint: the plot with 100,000 dots paints in about
5 ms (0.9 ms without them; the mean of 10 ``viewport().grab()``), and panning's longest stall
was 31-56 ms over four runs under a load average of 3 (docs/INDEX.md). The dots are square, :data:`DOT_PX` wide, drawn in row order (a later
dot covers an earlier one).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QImage

DOT_PX = 3


def argb(colour: str) -> int:
    """``#rrggbb`` as an opaque 32-bit ARGB pixel."""
    return int(QColor(colour).rgba()) & 0xFFFFFFFF


class DotsItem(pg.GraphicsObject):
    """Dots at ``xy`` (data coordinates) in per-dot ARGB colours; ``set_colours`` recolours cheaply."""

    def __init__(self, dot_px: int = DOT_PX) -> None:
        super().__init__()
        self.dot_px = dot_px
        self.xy = np.zeros((0, 2))
        self.colours = np.zeros(0, np.uint32)
        self._bounds = QRectF()

    def set_points(self, xy: np.ndarray, colours: np.ndarray) -> None:
        self.prepareGeometryChange()
        self.xy = np.asarray(xy, dtype=np.float32)
        self.colours = np.asarray(colours, dtype=np.uint32)
        if len(self.xy):
            (x0, y0), (x1, y1) = self.xy.min(axis=0), self.xy.max(axis=0)
            self._bounds = QRectF(x0, y0, max(x1 - x0, 1e-9), max(y1 - y0, 1e-9))
        else:
            self._bounds = QRectF()
        self.informViewBoundsChanged()
        self.update()

    def set_colours(self, colours: np.ndarray) -> None:
        self.colours = np.asarray(colours, dtype=np.uint32)
        self.update()

    def __len__(self) -> int:
        return len(self.xy)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return self._bounds

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):  # noqa: N802 - pyqtgraph API
        if not len(self.xy):
            return None, None
        return float(self.xy[:, ax].min()), float(self.xy[:, ax].max())

    def paint(self, painter, *_args) -> None:
        box = self.getViewBox()
        if not len(self.xy) or box is None:
            return
        transform = painter.transform()               # data coordinates -> the device's pixels
        visible = transform.mapRect(box.viewRect()).toAlignedRect().intersected(painter.viewport())
        width, height = visible.width(), visible.height()
        if width <= 0 or height <= 0:
            return
        pad = self.dot_px // 2                          # a border so no dot needs clipping
        stride = width + 2 * pad
        x = self.xy[:, 0]
        y = self.xy[:, 1]
        px = transform.m11() * x + transform.m21() * y + (transform.dx() - visible.left() + pad)
        py = transform.m12() * x + transform.m22() * y + (transform.dy() - visible.top() + pad)
        inside = (px >= 0) & (px < width + pad) & (py >= 0) & (py < height + pad)
        flat = py[inside].astype(np.intp) * stride + px[inside].astype(np.intp)
        colours = self.colours[inside]
        buffer = np.zeros((height + 2 * pad) * stride, np.uint32)
        for dy in range(-pad, self.dot_px - pad):
            for dx in range(-pad, self.dot_px - pad):
                buffer[np.clip(flat + (dy * stride + dx), 0, len(buffer) - 1)] = colours
        image = QImage(buffer.data, stride, height + 2 * pad, 4 * stride, QImage.Format.Format_ARGB32_Premultiplied)
        painter.save()
        painter.resetTransform()
        painter.drawImage(QPointF(visible.left(), visible.top()), image, QRectF(pad, pad, width, height))
        painter.restore()
