"""What every spectrogram in the app answers to: frequency zoom and its look.

:class:`FreqZoomBox` is a ViewBox whose wheel zooms time as usual but, with Ctrl held or over
the frequency axis, asks for a frequency zoom instead (``wheel_y``). :func:`zoomed_band` is the
arithmetic. :class:`SpectrogramLook` is the look (colour map, dB range) a right-click menu
changes (:func:`look_menu`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QMenu

COLORMAPS = ("inferno", "viridis", "magma", "CET-L1")
DB_RANGES = (40.0, 60.0, 80.0, 100.0, 120.0)
MIN_BAND_HZ = 50.0


class FreqZoomBox(pg.ViewBox):
    wheel_y = Signal(float, float)   # zoom factor (< 1: in), y in data units

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)

    def wheelEvent(self, ev, axis=None) -> None:  # noqa: N802 - pyqtgraph API
        if axis == 1 or ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            ev.accept()
            delta = ev.delta() if hasattr(ev, "delta") else ev.angleDelta().y()
            y = self.mapSceneToView(ev.scenePos()).y() if hasattr(ev, "scenePos") else sum(self.viewRange()[1]) / 2
            self.wheel_y.emit(0.8 ** (delta / 120.0), float(y))
            return
        super().wheelEvent(ev, axis)


def zoomed_band(low: float, high: float, top: float, factor: float, centre: float) -> tuple[float, float] | None:
    """``low``..``high`` zoomed by ``factor`` around ``centre`` within 0..``top``; None: the whole
    range again (zoomed out that far), or no change (narrower than :data:`MIN_BAND_HZ`)."""
    span = (high - low) * factor
    if span < MIN_BAND_HZ:
        return low, high
    share = (centre - low) / max(high - low, 1e-9)
    new_low = max(0.0, centre - share * span)
    new_high = min(top, new_low + span)
    new_low = max(0.0, new_high - span)
    return None if new_high - new_low >= top else (new_low, new_high)


@dataclass
class SpectrogramLook:
    colormap: str = COLORMAPS[0]
    db_range: float = 80.0


def look_menu(parent, look: SpectrogramLook, changed, every_frequency) -> QMenu:
    """A menu of colour maps and dB ranges (``changed()`` after a choice) and a way back to every
    frequency (``every_frequency()``)."""
    menu = QMenu(parent)
    colours = menu.addMenu("Colours")
    for name in COLORMAPS:
        action = colours.addAction(name)
        action.setCheckable(True)
        action.setChecked(name == look.colormap)
        action.triggered.connect(lambda _c=False, n=name: (setattr(look, "colormap", n), changed()))
    ranges = menu.addMenu("dB range")
    for db in DB_RANGES:
        action = ranges.addAction(f"{db:g} dB")
        action.setCheckable(True)
        action.setChecked(db == look.db_range)
        action.triggered.connect(lambda _c=False, d=db: (setattr(look, "db_range", d), changed()))
    menu.addSeparator()
    menu.addAction("Every frequency (Ctrl+wheel zooms)").triggered.connect(lambda: every_frequency())
    return menu
