"""A window of its own around one view of an index (the map, the Label window): the view fills
it, it is 1366×768 or the screen, whichever is smaller, and closing it shuts the view down."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

WINDOW_SIZE_PX = (1366, 768)


class IndexWindow(QWidget):
    def __init__(self, root: str | Path, title: str, parent: QWidget | None = None) -> None:
        """Subclasses make ``self.view`` (a widget with ``open_index`` and ``shutdown``), then call
        :meth:`show_view`."""
        super().__init__(parent, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(f"{title} — {Path(root).name}")
        self.root = Path(root)

    def show_view(self, view: QWidget) -> None:
        self.view = view
        QVBoxLayout(self).addWidget(view)
        screen = self.screen().availableGeometry() if self.screen() else None
        width, height = WINDOW_SIZE_PX
        if screen is not None:
            width, height = min(width, screen.width()), min(height, screen.height())
        self.resize(width, height)
        view.open_index(self.root)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.view.shutdown()
        super().closeEvent(event)
