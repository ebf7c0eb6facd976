"""Rank suspects in a thread: ``trainer.audit`` is imported lazily here, never at app start."""

from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import QThread, Signal

from engine.errors import EarmarkError

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_S = 0.1  # about 10 Hz


class AuditWorker(QThread):
    """Emits ``progressed(stage, step, total, message)`` then one of ``completed(result)``,
    ``failed(message)`` or ``cancelled()``; all received in the GUI thread."""

    progressed = Signal(str, int, int, str)
    completed = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, manifest, *, model_path=None, folds: int = 5, seed: int = 0, parent=None) -> None:
        super().__init__(parent)
        self.manifest = manifest
        self.model_path = model_path
        self.folds = folds
        self.seed = seed
        self._stop = threading.Event()
        self._last_progress = 0.0

    def cancel(self) -> None:
        self._stop.set()

    def close(self, timeout_ms: int = 10000) -> bool:
        """Cancel and join; True when the thread ended within the time limit."""
        self.cancel()
        return self.wait(timeout_ms)

    def _on_progress(self, progress) -> None:
        now = time.monotonic()
        if progress.stage == "done" or now - self._last_progress >= PROGRESS_INTERVAL_S:
            self._last_progress = now
            self.progressed.emit(progress.stage, progress.step, progress.total, progress.message)

    def run(self) -> None:
        try:
            from trainer.api import AuditRequest, audit
            from trainer.api import Cancelled as AuditCancelled
        except ImportError as exc:
            self.failed.emit(f"Ranking needs the training extras (pip install .[train]): {exc}")
            return
        try:
            result = audit(AuditRequest(self.manifest, self.model_path, self.folds, self.seed),
                           on_progress=self._on_progress, cancel=self._stop)
        except AuditCancelled:
            self.cancelled.emit()
        except EarmarkError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown inline, logged with its traceback
            log.exception("ranking suspects failed")
            self.failed.emit(f"Ranking failed: {type(exc).__name__}: {exc}")
        else:
            self.completed.emit(result)
