"""``main()``: the QApplication, the log file, one exception handler, the window icon, the main window."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger("earmark")
LOG_ENV = "EARMARK_LOG_DIR"
LOG_NAME = "earmark.log"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_folder() -> Path:
    """``$EARMARK_LOG_DIR``, else the user log folder (Linux: ~/.local/state/Earmark/log)."""
    if os.environ.get(LOG_ENV):
        return Path(os.environ[LOG_ENV])
    from engine.userdirs import log_dir

    return log_dir()


def setup_logging() -> Path | None:
    """Log to stderr and to ``earmark.log`` in :func:`log_folder` (1 MB, 3 old files kept).

    Returns the log file, or None when the folder cannot be written (then stderr only).
    Calling it again adds no second handler.
    """
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    if not any(getattr(h, "earmark", False) for h in root.handlers):
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter(LOG_FORMAT))
        stream.earmark = "stderr"
        root.addHandler(stream)
    path = log_folder() / LOG_NAME
    for handler in root.handlers:
        if getattr(handler, "earmark", None) == "file":
            if Path(handler.baseFilename) == path:
                return path
            root.removeHandler(handler)
            handler.close()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    except OSError as exc:
        log.warning("no log file (%s); logging to the terminal only", exc)
        return None
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.earmark = "file"
    root.addHandler(handler)
    return path


def app_icon() -> QIcon:
    from engine.userdirs import resource_dir

    icons = resource_dir() / "icons"
    icon = QIcon()
    for name in ("earmark.svg", "earmark.png"):
        if (icons / name).is_file():
            icon.addFile(str(icons / name))
    return icon


class ErrorReporter:
    """Logs every unexpected exception and shows at most one dialog at a time, naming the log file."""

    def __init__(self, log_path: Path | None = None) -> None:
        self._box: QMessageBox | None = None
        self.count = 0
        self.log_path = log_path

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

    def message(self, exc_type, exc_value) -> str:
        where = (f"the details are in the log file {self.log_path}" if self.log_path is not None
                 else "the details are below (no log file could be written)")
        return f"{exc_type.__name__}: {exc_value}\n\nEarmark keeps running; {where}."

    def _show(self, exc_type, exc_value, details: str) -> None:
        if self._box is not None and self._box.isVisible():
            return  # one at a time: a broken timer must not open a dialog per tick
        box = QMessageBox(QMessageBox.Icon.Warning, "Earmark: something went wrong", self.message(exc_type, exc_value))
        box.setDetailedText(details)
        box.open()
        self._box = box


def start(argv: list[str] | None = None, paths: list[str] | None = None):
    """Everything ``main()`` does before the event loop: log, app, error handler, window shown,
    ``paths`` (audio files, a data set folder, a model) opened."""
    log_path = setup_logging()
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("Earmark")
    app.setOrganizationName("Earmark")
    app.setWindowIcon(app_icon())
    reporter = ErrorReporter(log_path)
    reporter.install()
    if log_path is not None:
        log.info("Earmark starts; log file %s", log_path)
    from gui.main_window import MainWindow

    window = MainWindow()
    window.reporter = reporter
    window.setWindowIcon(app.windowIcon())
    window.show()
    for path in paths or ():
        window.open_path(path)
    return window


def main(argv: list[str] | None = None, paths: list[str] | None = None) -> int:
    window = start(argv, paths)
    code = QApplication.instance().exec()
    del window
    return code
