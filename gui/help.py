"""Help for the main window: the manual page of the current tab and the keyboard shortcuts (F1).

A mixin of :class:`gui.main_window.MainWindow` (it uses the window's tabs, views, menu bar and
status bar).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from gui.widgets.shortcuts_dialog import ShortcutsDialog

MANUAL_DIR = Path(__file__).resolve().parents[1] / "docs"


def open_url(url: QUrl) -> bool:
    """Open ``url`` with the desktop's viewer (tests replace this)."""
    return QDesktopServices.openUrl(url)


class HelpActions:
    def manual_page(self) -> Path:
        """The manual page (docs/*.md) of the current tab."""
        names = {self.live_view: "LIVE.md", self.file_view: "LIVE.md", self.annotate_view: "ANNOTATE.md",
                 self.audit_view: "AUDIT.md"}
        return MANUAL_DIR / names.get(self.tabs.currentWidget(), "LIVE.md")

    def open_manual(self) -> bool:
        page = self.manual_page()
        if not page.is_file():
            self.show_status(f"The manual is not installed here ({page}); it is in docs/ of Earmark's source")
            return False
        self.show_status(f"Opening the manual: {page}")
        return open_url(QUrl.fromLocalFile(str(page)))

    def show_shortcuts(self) -> ShortcutsDialog:
        from gui.file.region_lane import KEY_SECTIONS

        dialog = ShortcutsDialog(self.menuBar(), self, {title: list(keys) for title, keys in KEY_SECTIONS.items()})
        dialog.open()
        return dialog

