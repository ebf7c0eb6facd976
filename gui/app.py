"""``main()``: the QApplication, one exception handler, and the main window."""

from __future__ import annotations

import logging
import sys
import threading
import traceback

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger("earmark")


class ErrorReporter:
    """Logs every unexpected exception and shows at most one dialog at a time."""

    def __init__(self) -> None:
        self._box: QMessageBox | None = None
        self.count = 0

    def install(self) -> None:
        sys.excepthook = self.handle
        threading.excepthook = lambda args: self.handle(args.exc_type, args.exc_value, args.exc_traceback)

    def handle(self, exc_type, exc_value, exc_tb) -> None:
        self.count += 1
        text = "".join(traceback.format_exception(exc_type, exc_value, exc_tb))
        log.error("unexpected error:\n%s", text)
        app = QApplication.instance()
        if app is None:
            return
        # Dialogs only from the GUI thread; other threads hand the message over.
        QTimer.singleShot(0, app, lambda: self._show(exc_type, exc_value, text))

    def _show(self, exc_type, exc_value, details: str) -> None:
        if self._box is not None and self._box.isVisible():
            return  # one at a time: a broken timer must not open a dialog per tick
        box = QMessageBox(QMessageBox.Icon.Warning, "Earmark: something went wrong",
                          f"{exc_type.__name__}: {exc_value}\n\nEarmark keeps running; details are in the log.")
        box.setDetailedText(details)
        box.open()
        self._box = box


def start(argv: list[str] | None = None):
    """Everything ``main()`` does before the event loop: app, error handler, main window shown."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("Earmark")
    app.setOrganizationName("Earmark")
    reporter = ErrorReporter()
    reporter.install()
    from gui.main_window import MainWindow

    window = MainWindow()
    window.reporter = reporter
    window.show()
    return window


def main(argv: list[str] | None = None) -> int:
    window = start(argv)
    code = QApplication.instance().exec()
    del window
    return code
