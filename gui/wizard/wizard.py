"""``TrainWizard``: seven pages over one :class:`TrainSession`, from a data folder to a live model."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWizard

from engine.catalog import ModelCatalog
from gui.wizard.augment_page import AugmentPage
from gui.wizard.data_page import DataPage
from gui.wizard.export_page import ExportPage
from gui.wizard.model_page import ModelPage
from gui.wizard.results_page import ResultsPage
from gui.wizard.session import TrainSession
from gui.wizard.split_page import SplitPage
from gui.wizard.train_page import TrainPage

CLOSE_TIMEOUT_S = 10.0


class TrainWizard(QWizard):
    """Data → split → augmentation → model → train → results → export.

    ``job_overrides`` go to every ``TrainConfig`` unchanged (tests use them for a tiny
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
        self.model_page = ModelPage(self.session)
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

    def _on_custom_button_clicked(self, which: int) -> None:
        from gui.wizard.runs_dialog import PastRunsDialog

        self.past_runs_dialog = PastRunsDialog(self.export_page.catalog, self, root=self.train_page.runs_root)
        self.past_runs_dialog.show()

    def shutdown(self, timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
        """Cancel training and join the worker (at most ``timeout_s``)."""
        return self.train_page.shutdown(timeout_s)

    def done(self, result: int) -> None:  # Finish, Cancel, Esc and the close box all end here
        self.shutdown()
        super().done(result)
