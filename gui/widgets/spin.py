"""A labelled double spin box with a unit suffix and a tooltip."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDoubleSpinBox


def double_spin(low: float, high: float, value: float, step: float, suffix: str, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setDecimals(2)
    spin.setValue(value)
    spin.setSuffix(f" {suffix}")
    spin.setToolTip(tip)
    spin.setAlignment(Qt.AlignmentFlag.AlignRight)
    return spin
