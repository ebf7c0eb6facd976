"""The training wizard: turn labelled audio into a model the live view uses, without leaving the app.

Only :func:`open_wizard` is imported by the main window. The wizard talks to the trainer
through ``trainer.api`` only (an import-linter contract); torch is loaded in a worker
thread when the wizard opens, never on the GUI thread and never when the app starts.
"""

from __future__ import annotations

INSTALL_HINT = ("Training needs PyTorch and the other training packages, which are not installed here. "
                "Install them with <code>pip install .[train]</code> (or run <code>./earmark</code>, which "
                "sets up everything), then open the wizard again.")


def torch_missing_reason() -> str | None:
    """Why the training stack cannot be loaded, or None when it can. Looks the packages up
    without importing them (torch takes seconds: the wizard loads it in a worker thread)."""
    try:
        from trainer import api
    except ImportError as exc:
        return f"{INSTALL_HINT}<br><br><small>({exc})</small>"
    missing = api.missing_training_packages()
    if missing:
        return f"{INSTALL_HINT}<br><br><small>(not found: {', '.join(missing)})</small>"
    return None


def open_wizard(main_window, **kwargs):
    """Open the training wizard over ``main_window`` (its model catalog gets the new model).

    Returns the :class:`~gui.wizard.wizard.TrainWizard`, or None after explaining that
    the training packages are missing.
    """
    from PySide6.QtWidgets import QMessageBox

    reason = torch_missing_reason()
    if reason is not None:
        QMessageBox.information(main_window, "Train a new model", reason)
        return None
    from gui.wizard.wizard import TrainWizard

    wizard = TrainWizard(getattr(main_window, "catalog", None), main_window, **kwargs)
    wizard.show()
    return wizard


def open_past_run(main_window, run_dir=None):
    """The "Open a past run…" dialog (no torch needed: it reads the run folders)."""
    from gui.wizard.runs_dialog import PastRunsDialog

    dialog = PastRunsDialog(getattr(main_window, "catalog", None), main_window)
    if run_dir is not None:
        dialog.open_run(run_dir)
    dialog.show()
    return dialog
