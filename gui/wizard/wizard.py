"""``TrainWizard``: seven pages over one :class:`TrainSession`, from a data folder to a live model."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtWidgets import QWizard

from engine.models.catalog import ModelCatalog
from gui.wizard.augment_page import AugmentPage
from gui.wizard.background import BackgroundJobs
from gui.wizard.data_page import DataPage
from gui.wizard.export_page import ExportPage
from gui.wizard.model_page import ModelPage
from gui.wizard.results_page import ResultsPage
from gui.wizard.session import TrainSession
from gui.wizard.split_page import SplitPage
from gui.wizard.train_page import TrainPage
from gui.workers.registry import workers

log = logging.getLogger(__name__)
CLOSE_TIMEOUT_S = 10.0
WARM_UP_GRACE_S = 0.2      # importing torch cannot be interrupted: a cancelled warm-up ends its process


class TrainWizard(QWizard):
    """Data → split → augmentation → model → train → results → export.

    ``job_overrides`` go to every ``TrainRequest`` unchanged (tests use them for a tiny
    input size, one cache worker and a temporary cache folder).
    """

    def __init__(self, catalog: ModelCatalog | None = None, parent=None, *, runs_root: Path | None = None,
                 job_overrides: dict | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a new model")
        self.setWizardStyle(QWizard.ClassicStyle)
        self.setOption(QWizard.NoBackButtonOnLastPage, False)
        self.session = TrainSession()
        self.data_page = DataPage(self.session)
        self.split_page = SplitPage(self.session)
        self.augment_page = AugmentPage(self.session)
        self.model_page = ModelPage(self.session, settings=getattr(parent, "settings", None))
        self.train_page = TrainPage(self.session, runs_root=runs_root, job_overrides=job_overrides)
        self.results_page = ResultsPage(self.session)
        self.export_page = ExportPage(self.session, catalog)
        for page in (self.data_page, self.split_page, self.augment_page, self.model_page, self.train_page,
                     self.results_page, self.export_page):
            self.addPage(page)
        self.setButtonText(QWizard.CustomButton1, "Past runs…")
        self.setOption(QWizard.HaveCustomButton1, True)
        self.customButtonClicked.connect(self._on_custom_button_clicked)
        self.past_runs_dialog = None
        self.resize(1100, 760)
        # torch takes seconds to import and holds the GIL while it does: the training process
        # (session.trainer) loads it, never this one; the same warm process runs every job after
        self.jobs = BackgroundJobs(self)
        self.jobs.delivered.connect(self._on_jobs_delivered)
        self.jobs.failed.connect(self._on_jobs_failed)
        self.jobs.submit_job("warm_up", self.session.trainer_job("warm_up", cancel_grace_s=WARM_UP_GRACE_S),
                             what="Loading the training packages")

    def _on_jobs_delivered(self, kind: str, environment) -> None:
        self.model_page.set_environment(environment)

    def _on_jobs_failed(self, kind: str, message: str) -> None:
        self.model_page.set_environment_failed(message)

    def _on_custom_button_clicked(self, which: int) -> None:
        from gui.wizard.runs_dialog import PastRunsDialog

        self.past_runs_dialog = PastRunsDialog(self.export_page.catalog, self, root=self.train_page.runs_root)
        self.past_runs_dialog.show()

    def shutdown(self, timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
        """Cancel every job, join them and stop the training process, all within ``timeout_s``
        (the process is terminated, then killed, at the limit). True when all ended in time."""
        background = {"warm-up": self.jobs, "split": self.split_page.jobs, "augmentation": self.augment_page.jobs}
        started = time.monotonic()

        def note(what: str, ended: bool) -> bool:
            if not ended:        # which part overran, and when: a close that overruns is a bug to find
                log.warning("closing the wizard: %s had not ended %.2f s in", what, time.monotonic() - started)
            return ended

        with workers.deadline(timeout_s):
            for jobs in background.values():
                jobs.cancel()
            ended = note("the training page", self.train_page.shutdown(timeout_s))
            for what, jobs in background.items():
                ended = note(f"the {what} jobs", jobs.shutdown(timeout_s)) and ended
            ended = note("the training process", self.session.trainer.stop(workers.clamp(timeout_s) or 0.0)) and ended
            for what, jobs in background.items():   # a job still waiting for the stopped process ends now
                ended = note(f"the {what} jobs (after the process)",
                             jobs.shutdown(workers.clamp(timeout_s) or 0.0)) and ended
        return ended

    def done(self, result: int) -> None:  # Finish, Cancel, Esc and the close box all end here
        self.shutdown()
        super().done(result)
