"""The wizard trains on, and the audit opens, a data set cut by `clips` from annotated recordings."""

from __future__ import annotations

import json

import pytest

from engine.datasets.from_regions import make_clips
from tests.gui.test_wizard import make_wizard, wizard_env  # noqa: F401  (fixture)
from tests.helpers_regions import annotated_recordings

pytest.importorskip("torch")


def test_the_wizard_trains_on_a_clips_data_set(qtbot, main_window, wizard_env, write_wav, tmp_path):  # noqa: F811
    audio, labels = annotated_recordings(write_wav, tmp_path, n=4)
    result = make_clips(audio, labels, tmp_path / "ds", background="background")
    wizard = make_wizard(qtbot, main_window)
    page = wizard.data_page
    assert page.choose(result.csv_path)
    assert "csv" in page.layout_label.text()
    wizard.next()
    split = wizard.split_page
    assert wizard.currentPage() is split
    qtbot.waitUntil(split.isComplete, timeout=20_000)      # the preview is computed in a worker
    assert wizard.session.split_report["leakage_count"] == 0
    wizard.next()
    wizard.next()
    model = wizard.model_page
    qtbot.waitUntil(model.ready, timeout=60_000)           # torch loads in a worker
    model.model_combo.setCurrentText("cnn")
    model.set_input_size(16, 16)
    model.epochs_spin.setValue(1)
    model.batch_spin.setValue(4)
    model.seeds_edit.setText("1")
    wizard.next()
    train = wizard.train_page
    with qtbot.waitSignal(train.worker.finished, timeout=120_000):
        pass
    assert train.state == "finished"
    qtbot.waitUntil(lambda: not train.worker.is_running(), timeout=5000)
    metrics = json.loads((wizard.session.run_dir / "metrics.json").read_text())
    assert sorted(metrics["labels"]) == ["background", "high", "low"]
    record = json.loads((wizard.session.run_dir / "wizard.json").read_text())
    assert record["split"]["leakage_count"] == 0
    wizard.reject()


def test_the_audit_opens_a_clips_data_set(qtbot, write_wav, tmp_path):
    from gui.audit_view import AuditView

    audio, labels = annotated_recordings(write_wav, tmp_path, n=3)
    result = make_clips(audio, labels, tmp_path / "ds")
    view = AuditView(use_audio_device=False, autoplay=False)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.opened, timeout=20_000):   # opening a data set is a job
        view.open_dataset(result.csv_path, "csv")
    base = view.session.base
    assert len(base.clips) == 6 and {c.group for c in base.clips} == {"site0", "site1", "site2"}
    view.shutdown()
