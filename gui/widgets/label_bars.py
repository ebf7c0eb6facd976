"""The top labels as horizontal bars with their confidence, or a clear 'silence' state."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget


class LabelBars(QWidget):
    def __init__(self, n_bars: int = 5, parent=None) -> None:
        super().__init__(parent)
        self.n_bars = n_bars
        self.items: list[tuple[str, float]] = []
        self.message = "No prediction yet"
        self.setMinimumSize(220, 28 * n_bars + 8)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_items(self, items: list[tuple[str, float]]) -> None:
        self.items = list(items)[: self.n_bars]
        self.message = ""
        self.update()

    def set_message(self, message: str) -> None:
        """Show a state instead of bars (silence, no model, stopped)."""
        self.items = []
        self.message = message
        self.update()

    def labels(self) -> list[str]:
        return [label for label, _ in self.items]

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#16171b"))
        font = QFont(self.font())
        font.setPointSizeF(max(9.0, font.pointSizeF()))
        painter.setFont(font)
        if not self.items:
            painter.setPen(QColor("#8b949e"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)
            painter.end()
            return
        row_h = (self.height() - 8) / self.n_bars
        width = self.width() - 16
        for i, (label, prob) in enumerate(self.items):
            top = 4 + i * row_h
            bar = QRectF(8, top + 3, max(2.0, width * prob), row_h - 6)
            painter.fillRect(QRectF(8, top + 3, width, row_h - 6), QColor("#22252b"))
            painter.fillRect(bar, QColor("#2f81f7" if i == 0 else "#3a5a8c"))
            painter.setPen(QColor("#f0f6fc"))
            text_rect = QRectF(14, top, width - 12, row_h)
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, label)
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{prob * 100:.0f} %")
        painter.end()
