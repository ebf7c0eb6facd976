"""Ranking suspects for the Audit tab: one job at a time, its progress in the action bar,
its result handed to the :class:`~engine.dataset_session.DatasetSession`."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engine.dataset_session import DatasetSession
from gui.audit.worker import RankRequest, rank_suspects_job
from gui.workers.job_worker import JobWorker

CLOSE_TIMEOUT_S = 5.0           # the ranking checks its cancel token at least once a second


class RankingRunner(QObject):
    started = Signal()
    ended = Signal()             # finished, failed or cancelled: the buttons follow
    failed = Signal(str)
    noticed = Signal(str)

    def __init__(self, session: DatasetSession, progress_bar, *, folds: int = 5, seed: int = 0,
                 parent=None) -> None:
        super().__init__(parent)
        self.session, self.progress = session, progress_bar
        self.folds, self.seed = folds, seed
        self.worker: JobWorker | None = None

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.is_running()

    def start(self, model_path: str | None = None) -> JobWorker | None:
        manifest = self.session.current_manifest()
        if manifest is None or self.running:
            return None
        request = RankRequest(manifest, model_path or self.session.model_path, self.folds, self.seed)
        self.worker = worker = JobWorker(rank_suspects_job, request, what="Ranking suspects", owner=self,
                                         confirm_quit=True)
        worker.progressed.connect(self._on_worker_progressed)
        worker.finished.connect(self._on_worker_finished)
        worker.failed.connect(self._on_worker_failed)
        worker.cancelled.connect(self._on_worker_cancelled)
        worker.ended.connect(self.ended)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        worker.start()
        self.started.emit()
        return worker

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _on_worker_progressed(self, progress) -> None:
        self.progress.setRange(0, max(progress.total, 1))
        self.progress.setValue(progress.step)
        self.progress.setFormat(progress.message)

    def _on_worker_finished(self, result) -> None:
        if self.sender() is not self.worker:
            return  # a ranking of a data set closed since
        self.progress.setVisible(False)
        self.session.set_ranking(result)

    def _on_worker_failed(self, message: str) -> None:
        self.progress.setVisible(False)
        self.failed.emit(message)

    def _on_worker_cancelled(self, _message: str) -> None:
        self.progress.setVisible(False)
        self.noticed.emit("Ranking cancelled")

    def shutdown(self, timeout_s: float | None = None) -> bool:
        """Cancel and join; False when the ranking overran (it ends on its own, referenced)."""
        worker, self.worker = self.worker, None
        return worker is None or worker.close(CLOSE_TIMEOUT_S if timeout_s is None else timeout_s)
