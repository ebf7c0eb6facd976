"""What the main window's File and Playback menus do to the current tab's view: save it as an
image, zoom it. A mixin of :class:`gui.main_window.MainWindow` (its tabs, views, settings, status)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QFileDialog

from engine.audio.speed import SPEEDS


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


    def _build_speed_menu(self, play_menu) -> None:
        """Playback ▸ Speed and Keep pitch, for the current tab's player (Annotate: its own boxes)."""
        menu = play_menu.addMenu("Spee&d")
        group = QActionGroup(self)
        self.speed_actions = {}
        for speed in SPEEDS:
            action = QAction(f"{speed:g}×", self, checkable=True, checked=speed == 1.0)
            action.triggered.connect(lambda _c=False, s=speed: self.set_playback_speed(s))
            group.addAction(action)
            menu.addAction(action)
            self.speed_actions[speed] = action
        self.keep_pitch_action = QAction("&Keep pitch", self, checkable=True, checked=True)
        self.keep_pitch_action.setStatusTip("Keep the pitch at another speed; off, the pitch follows the speed "
                                            "like a tape (time expansion)")
        self.keep_pitch_action.toggled.connect(lambda _on: self.set_playback_speed(None))
        menu.addSeparator()
        menu.addAction(self.keep_pitch_action)

    def set_playback_speed(self, speed: float | None) -> None:
        """Play the current tab's audio at ``speed`` (None: the checked one) with the pitch kept or not."""
        if speed is None:
            speed = next((s for s, a in self.speed_actions.items() if a.isChecked()), 1.0)
        self.speed_actions[speed].setChecked(True)
        keep = self.keep_pitch_action.isChecked()
        widget = self.tabs.currentWidget()
        if widget is self.annotate_view:
            self.annotate_view.speed_box.setCurrentText(f"{speed:g}×")
            self.annotate_view.pitch_box.setChecked(keep)
            return
        player = getattr(widget, "player", None)
        if player is not None:
            player.set_speed(speed, keep)
            self.show_status(f"Playing at {speed:g}×" + (" (pitch kept)" if keep and speed != 1 else ""))

    def _sync_speed_menu(self, *_args) -> None:
        """Show the current tab's speed in Playback ▸ Speed."""
        widget = self.tabs.currentWidget()
        if widget is self.annotate_view:
            speed, keep = self.annotate_view.playback.speed, self.annotate_view.playback.keep_pitch
        else:
            player = getattr(widget, "player", None)
            speed, keep = (player.speed, player.keep_pitch) if player is not None else (1.0, True)
        if speed in self.speed_actions:
            self.speed_actions[speed].setChecked(True)
        self.keep_pitch_action.blockSignals(True)
        self.keep_pitch_action.setChecked(keep)
        self.keep_pitch_action.blockSignals(False)
