"""Model suggestions for one recording in a thread, with progress and cancel (engine.jobs contract).

``progressed(fraction)`` at most ten times a second, then exactly one of ``completed(regions)``,
``cancelled()`` or ``failed(message)``; all received in the GUI thread.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from engine.jobs import CancelToken, Progress, run_job
from engine.longclassify import suggest_regions
from engine.segments import SegmentParams

PROGRESS_INTERVAL_S = 0.1


class SuggestWorker(QThread):
    progressed = Signal(float)
    completed = Signal(object)   # list[engine.regions.Region]
    cancelled = Signal()
    failed = Signal(str)

    def __init__(self, classifier, path: str | Path, params: SegmentParams, parent=None) -> None:
        super().__init__(parent)
        self.classifier, self.path, self.params = classifier, Path(path), params
        self.token = CancelToken()
        self._last_report = 0.0

    def run(self) -> None:
        outcome = run_job(self._job, None, cancel=self.token, what=f"Suggesting regions for {self.path.name}")
        if outcome.status == "finished":
            self.completed.emit(outcome.value)
        elif outcome.status == "cancelled":
            self.cancelled.emit()
        else:
            self.failed.emit(outcome.message)

    def _job(self, _request, *, on_progress, cancel: CancelToken):
        return suggest_regions(self.classifier, self.path, self.params, cancel=cancel, on_progress=self._report)

    def _report(self, progress: Progress) -> None:
        now = time.monotonic()
        if progress.fraction is not None and now - self._last_report >= PROGRESS_INTERVAL_S:
            self._last_report = now
            self.progressed.emit(float(progress.fraction))

    def cancel(self) -> None:
        self.token.cancel()

    def close(self, timeout_ms: int = 5000) -> bool:
        self.cancel()
        return self.wait(timeout_ms)
