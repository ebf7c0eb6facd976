"""Ranking suspects for the Audit tab: one job at a time, its progress in the action bar,
its result handed to the :class:`~engine.datasets.session.DatasetSession`.

Each ranking is kept (:mod:`engine.datasets.rankings`, keyed by the data set's content); when a
data set opens whose content, edits, audit model, folds and seed match a kept ranking, that
ranking is shown again at once, without running the ranker (``restored``)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal

from engine.datasets import rankings as ranking_cache
from engine.datasets.session import DatasetSession
from gui.audit.worker import RankRequest, rank_suspects_job
from gui.workers.job_worker import JobWorker

log = logging.getLogger(__name__)


def rank_and_keep_job(request: RankRequest, *, on_progress, cancel):
    """Rank (``rank_suspects_job``), then keep the ranking under the content key of what was ranked."""
    key = ranking_cache.content_key(request.manifest, request.model_path, folds=request.folds, seed=request.seed)
    result = rank_suspects_job(request, on_progress=on_progress, cancel=cancel)
    try:
        ranking_cache.save(result, key)
    except (OSError, TypeError, ValueError) as exc:   # the ranking stands; only next time's shortcut is lost
        log.warning("Could not keep the audit ranking for next time: %s", exc)
    return result

CLOSE_TIMEOUT_S = 5.0           # the ranking checks its cancel token at least once a second


class RankingRunner(QObject):
    started = Signal()
    ended = Signal()             # finished, failed or cancelled: the buttons follow
    failed = Signal(str)
    noticed = Signal(str)
    restored = Signal(object)    # a kept ranking was shown again (its cache file's Path)
    restore_checked = Signal(bool)   # after each data set opened: whether a kept ranking was shown

    def __init__(self, session: DatasetSession, progress_bar, *, folds: int = 5, seed: int = 0,
                 parent=None) -> None:
        super().__init__(parent)
        self.session, self.progress = session, progress_bar
        self.folds, self.seed = folds, seed
        self.worker: JobWorker | None = None
        session.subscribe("opened", self._on_session_opened)

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.is_running()

    def start(self, model_path: str | None = None) -> JobWorker | None:
        manifest = self.session.current_manifest()
        if manifest is None or self.running:
            return None
        request = RankRequest(manifest, model_path or self.session.model_path, self.folds, self.seed)
        self.worker = worker = JobWorker(rank_and_keep_job, request, what="Ranking suspects", owner=self,
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

    # ---- a kept ranking ------------------------------------------------------------------------
    def _on_session_opened(self, _session) -> None:
        # after every listener of "opened" ran (the view sorts and selects first), in the GUI thread
        QTimer.singleShot(0, self, lambda: self.restore_checked.emit(self.restore()))

    def restore(self) -> bool:
        """Show the kept ranking of the open data set as it is now, if there is one; True when shown."""
        manifest = self.session.current_manifest()
        if manifest is None or self.running or self.session.result is not None:
            return False
        key = ranking_cache.content_key(manifest, self.session.model_path, folds=self.folds, seed=self.seed)
        ranking = ranking_cache.load(key)
        if ranking is None:
            return False
        if not set(ranking.keys) <= {clip.key for clip in self.session.clips}:
            log.warning("Ignoring the kept audit ranking %s: its clips are not the open data set's",
                        ranking.restored_from)
            return False
        ranking.source = f"{ranking.source} · kept from an earlier ranking of these same files (not re-ranked)"
        self.session.set_ranking(ranking)
        self.restored.emit(ranking.restored_from)
        return True

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
