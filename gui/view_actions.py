"""What the main window's File and Playback menus do to the current tab's view: save it as an
image, zoom it. A mixin of :class:`gui.main_window.MainWindow` (its tabs, views, settings, status)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog


class ViewActions:
    def save_view_dialog(self) -> None:
        from gui.widgets.image_export import IMAGE_FILTER

        start = str(Path(self.settings.get("file/last_dir")) / f"earmark-{self.tabs.tabText(self.tabs.currentIndex())}.png")
        path, _ = QFileDialog.getSaveFileName(self, "Save the view as an image", start, IMAGE_FILTER)
        if path:
            self.save_view(path)

    def save_view(self, path) -> Path | None:
        """The current tab as drawn now, as PNG or SVG (by the suffix)."""
        from gui.widgets.image_export import ImageExportError, save_widget_image

        widget = self.tabs.currentWidget()
        view = getattr(widget, "plots_widget", None)  # a view may offer just its plots
        try:
            written = save_widget_image(view() if callable(view) else widget, path)
        except ImageExportError as exc:
            self.show_status(str(exc))
            return None
        self.show_status(f"Saved the view as {written}")
        return written

    def _zoom_view(self):
        """Playback ▸ Zoom acts on the Annotate tab's recording there, else on the File tab's clip."""
        return self.annotate_view if self.tabs.currentWidget() is self.annotate_view else self.file_view

