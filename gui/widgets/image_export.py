"""Save what a view shows as an image: PNG (pixels, as on screen) or SVG (vector, for a paper)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRect, QSize
from PySide6.QtWidgets import QWidget

IMAGE_FILTER = "PNG image (*.png);;SVG drawing (*.svg)"
SUFFIXES = (".png", ".svg")


class ImageExportError(OSError):
    """The image could not be written (the message names the file)."""


def save_widget_image(widget: QWidget, path: str | Path) -> Path:
    """Write ``widget`` as drawn now to ``path``; the suffix (.png or .svg) picks the format."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ImageExportError(f"{path}: save the view as .png or .svg")
    if suffix == ".png":
        if not widget.grab().save(str(path), "PNG"):
            raise ImageExportError(f"{path}: the image could not be written")
        return path
    from PySide6.QtSvg import QSvgGenerator

    size = widget.size()
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(size.width(), size.height()))
    generator.setViewBox(QRect(0, 0, size.width(), size.height()))
    generator.setTitle(widget.window().windowTitle() or "Earmark")
    widget.render(generator)
    if not path.is_file() or path.stat().st_size == 0:
        raise ImageExportError(f"{path}: the drawing could not be written")
    return path
