"""Small layout helpers shared by the views."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QHBoxLayout, QToolButton, QVBoxLayout, QWidget


def side_column(*widgets: QWidget, width_px: int = 300) -> QWidget:
    """A fixed-width column of widgets, top-aligned (the views' right-hand panels)."""
    layout = QVBoxLayout()
    for widget in widgets:
        layout.addWidget(widget)
    layout.addStretch(1)
    column = QWidget()
    column.setLayout(layout)
    column.setFixedWidth(width_px)
    return column


def with_tool_button(field: QWidget, text: str, tooltip: str, on_click: Callable[[], None]) -> QHBoxLayout:
    """``field`` stretched, followed by a small tool button (refresh, browse…)."""
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tooltip)
    button.clicked.connect(on_click)
    row = QHBoxLayout()
    row.addWidget(field, 1)
    row.addWidget(button)
    return row
