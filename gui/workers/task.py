"""Run one Qt-free function in a thread of its own and report back with past-tense signals."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QThread, Signal

from engine.errors import EarmarkError

log = logging.getLogger(__name__)


class TaskWorker(QThread):
    """``completed(result)`` or ``failed(message)``, emitted once, received in the GUI thread."""

    completed = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], object], *, what: str = "The task", parent=None) -> None:
        super().__init__(parent)
        self._fn = fn
        self._what = what

    def run(self) -> None:
        try:
            result = self._fn()
        except EarmarkError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - reported inline, logged with its traceback
            log.exception("%s failed", self._what)
            self.failed.emit(f"{self._what} failed: {type(exc).__name__}: {exc}")
        else:
            self.completed.emit(result)

    def close(self, timeout_ms: int = 5000) -> bool:
        """Wait for the function to return (it cannot be interrupted); True when it did."""
        return self.wait(timeout_ms)
