"""A horizontal input level meter in dBFS with a falling peak marker."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

FLOOR_DBFS = -60.0


class LevelMeter(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.level_dbfs = FLOOR_DBFS
        self.peak_dbfs = FLOOR_DBFS
        self.setMinimumSize(160, 18)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Input level (dBFS): green is comfortable, red is close to clipping")

    def set_level(self, level_dbfs: float) -> None:
        self.level_dbfs = max(FLOOR_DBFS, min(0.0, level_dbfs))
        self.peak_dbfs = max(self.level_dbfs, self.peak_dbfs - 0.6)
        self.update()

    def reset(self) -> None:
        self.level_dbfs = self.peak_dbfs = FLOOR_DBFS
        self.update()

    def _x(self, dbfs: float) -> float:
        return (dbfs - FLOOR_DBFS) / -FLOOR_DBFS * (self.width() - 2) + 1

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#1e1f24"))
        h = self.height() - 2
        for start, stop, colour in ((FLOOR_DBFS, -18.0, "#3fb950"), (-18.0, -6.0, "#d29922"), (-6.0, 0.0, "#f85149")):
            if self.level_dbfs <= start:
                break
            x0, x1 = self._x(start), self._x(min(stop, self.level_dbfs))
            painter.fillRect(QRectF(x0, 1, x1 - x0, h), QColor(colour))
        painter.setPen(QColor("#e6edf3"))
        px = self._x(self.peak_dbfs)
        painter.drawLine(int(px), 1, int(px), h)
        painter.drawText(self.rect().adjusted(4, 0, -4, 0), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         f"{self.level_dbfs:5.1f} dBFS")
        painter.end()
