"""The main window's half of the labelling loop: File ▸ Label from an index…, and the Annotate tab's
Edit ▸ More like this… (Ctrl+Shift+F), which opens the Label window on the index last used (or asks
for one) with the hits of the selected region. A mixin of :class:`gui.main_window.MainWindow`."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

from engine.userdirs import cache_dir

MORE_LIKE_THIS_KEYS = "Ctrl+Shift+F"


class LabelActions:
    label_window = None

    def _add_label_menu_action(self, file_menu) -> None:
        self._action(file_menu, "&Label from an index…", self._on_label_from_index,
                     tip="Open an index folder (main.py index makes one) to label its windows: more like a "
                         "region, what the model is least sure of, then train and re-score")

    def _build_more_like_this(self) -> None:
        action = self.more_like_this_action = QAction("&More like this…", self.annotate_view)
        action.setShortcut(QKeySequence(MORE_LIKE_THIS_KEYS))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setToolTip("The windows of an index most like the selected region, to label from the keyboard")
        action.triggered.connect(self.annotate_view.more_like_this)
        self.annotate_view.addAction(action)
        self._edit_actions[self.annotate_view] = (*self._edit_actions[self.annotate_view], action)
        self.annotate_view.more_like_this_requested.connect(self.more_like_this)
        self._update_edit_menu()

    def _ask_index(self) -> str:
        start = cache_dir("indexes")
        return QFileDialog.getExistingDirectory(self, "Open an index folder", str(start if start.is_dir() else ""))

    def _on_label_from_index(self) -> None:
        folder = self._ask_index()
        if folder:
            self.open_label_window(folder)

    def open_label_window(self, root: str | Path):
        """The Label window on the index at ``root`` (the one open is closed first)."""
        from gui.index.label_view import LabelWindow

        if self.label_window is not None:
            self.label_window.close()
        window = self.label_window = LabelWindow(root, self, use_audio_device=self._use_audio_device)
        window.destroyed.connect(lambda _=None, w=window: self._forget_label_window(w))
        window.view.region_saved.connect(self._on_label_saved)
        window.show()
        return window

    def _on_label_saved(self, path: str) -> None:
        """A label saved in the recording open in the Annotate tab shows there at once."""
        view = self.annotate_view
        if view.track is not None and view.audio is not None and Path(view.audio.path) == Path(path):
            view.track.refresh()

    def _forget_label_window(self, window) -> None:
        if self.label_window is window:
            self.label_window = None

    def more_like_this(self, path: str, start_s: float, end_s: float, label: str = "") -> None:
        """Show the index windows like ``path``'s ``start_s..end_s`` in the Label window."""
        window = self.label_window
        if window is None:
            folder = self._ask_index()
            if not folder:
                return
            window = self.open_label_window(folder)
        window.view.more_like_this(path, start_s, end_s, label)
        window.raise_()
        window.activateWindow()

    def more_like_this_in(self, root: str | Path, path: str, start_s: float, end_s: float) -> None:
        """More like this in the index at ``root`` (the map's): its Label window, opened when another is."""
        window = self.label_window
        if window is None or Path(window.root) != Path(root):
            window = self.open_label_window(root)
        window.view.more_like_this(path, start_s, end_s)
        window.raise_()

    def _shut_down_label_window(self) -> None:
        if self.label_window is not None:
            self.label_window.view.shutdown()
