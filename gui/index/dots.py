"""Many small dots drawn as one image: numpy puts each dot's pixels into a buffer the size of the
visible plot, and the painter draws that buffer once.

Why not ``pg.ScatterPlotItem``: at 100,000 dots in a 1366×768 window (offscreen, the shared 2-core
machine) its paint (one pixmap fragment per dot, even with one brush per colour and no pens) took
55-117 ms, so panning stalled the GUI thread past 100 ms (``tests/gui/test_index_map_stalls.py``:
longest stall 117 ms, only 37 heartbeat ticks in 2 s). Rasterising with numpy costs a few
array operations per dot and one image draw per paint, whatever the number of dots; the measured
figure is in docs/INDEX.md. The dots are square, :data:`DOT_PX` wide, drawn in row order (a later
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
        self.xy = np.asarray(xy, dtype=np.float64)
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
        px = transform.m11() * self.xy[:, 0] + transform.m21() * self.xy[:, 1] + transform.dx() - visible.left()
        py = transform.m12() * self.xy[:, 0] + transform.m22() * self.xy[:, 1] + transform.dy() - visible.top()
        half = self.dot_px // 2
        inside = (px >= -half) & (px < width + half) & (py >= -half) & (py < height + half)
        ix, iy, colours = px[inside].astype(np.int32), py[inside].astype(np.int32), self.colours[inside]
        buffer = np.zeros((height, width), np.uint32)
        for dy in range(-half, self.dot_px - half):
            for dx in range(-half, self.dot_px - half):
                x, y = ix + dx, iy + dy
                keep = (x >= 0) & (x < width) & (y >= 0) & (y < height)
                buffer[y[keep], x[keep]] = colours[keep]
        image = QImage(buffer.data, width, height, 4 * width, QImage.Format.Format_ARGB32_Premultiplied)
        painter.save()
        painter.resetTransform()
        painter.drawImage(QPointF(visible.left(), visible.top()), image)
        painter.restore()
