"""Cancel training mid-epoch: the worker stops within seconds, the app stays usable, and the
best checkpoint so far is kept. Closing the wizard while it trains cancels and joins the worker."""

from __future__ import annotations

import json
import time

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWizard

from tests.gui.test_wizard import emodb, make_wizard, walk_to_training, wizard_env  # noqa: F401 - fixtures

torch = pytest.importorskip("torch")

CANCEL_LIMIT_S = 5.0


def test_cancel_mid_epoch_keeps_the_best_checkpoint(qtbot, main_window, wizard_env, emodb):  # noqa: F811
    wizard = make_wizard(qtbot, main_window)
    walk_to_training(qtbot, wizard, emodb, epochs=200, seeds="7", batch_size=4)
    page = wizard.train_page
    epochs_seen = []
    page.worker.progressed.connect(
        lambda p: epochs_seen.append(p.epoch) if "val_loss" in (p.metrics or {}) else None)
    qtbot.waitUntil(lambda: len(epochs_seen) >= 2, timeout=60_000)
    assert not wizard.button(QWizard.BackButton).isVisible()    # no Back while training

    started = time.monotonic()
    with qtbot.waitSignal(page.worker.cancelled, timeout=int(CANCEL_LIMIT_S * 1000)):
        page.cancel_button.click()
    stopped_s = time.monotonic() - started
    qtbot.waitUntil(lambda: not page.worker.is_running(), timeout=2000)
    assert stopped_s < CANCEL_LIMIT_S
    assert page.state == "cancelled" and page.isComplete()      # a checkpoint is kept: Next exports it
    assert page.start_button.isVisible() and not page.cancel_button.isEnabled()

    run_dir = page.plan.run_dir
    best = run_dir / "checkpoints" / "seed7" / "best.pt"
    state = torch.load(best, map_location="cpu", weights_only=True)
    losses = page.curves.series["seed 7"]["val_loss"]
    assert 1 <= state["epoch"] <= len(losses) < 200
    assert state["val_loss"] == pytest.approx(min(losses[: state["epoch"]]), rel=1e-6)
    assert "best.pt" in page.message_label.text()
    assert not (run_dir / "metrics.json").exists()
    assert json.loads((run_dir / "wizard.json").read_text())["status"] == "cancelled"

    # the app stays usable: timers fire, Back is offered again, the main window answers
    fired = []
    QTimer.singleShot(10, lambda: fired.append(True))
    qtbot.waitUntil(lambda: bool(fired), timeout=1000)
    assert wizard.button(QWizard.BackButton).isVisible()
    wizard.back()
    assert wizard.currentPage() is wizard.model_page
    main_window.catalog.refresh()
    wizard.close()


def test_closing_the_wizard_while_training_joins_the_worker(qtbot, main_window, wizard_env, emodb):  # noqa: F811
    wizard = make_wizard(qtbot, main_window)
    walk_to_training(qtbot, wizard, emodb, epochs=200, seeds="7", batch_size=4)
    worker = wizard.train_page.worker
    qtbot.waitUntil(lambda: wizard.train_page.stage_label.text() not in ("", "<b>Starting…</b>"), timeout=30_000)
    started = time.monotonic()
    wizard.reject()
    assert time.monotonic() - started < CANCEL_LIMIT_S
    assert not worker.is_running()
