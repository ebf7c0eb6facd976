"""The results page shows test beside validation figures (old runs: one column as before), the pooled
headline of cross-validation and the scheme in words; one seed shows no "± 0.000"; a model near
chance or from a cancelled run is exported only after a confirmation saying what chance is."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWizard

from gui.wizard.figures import chance, near_chance_warning
from gui.wizard.results_page import ResultsPanel
from gui.wizard.runs import list_runs
from tests.gui.test_wizard import emodb, make_wizard, walk_to_training, wizard_env  # noqa: F401 - fixtures

LABELS = ["a", "b", "c"]


def _summary(acc, f1, n, std=0.01):
    recall = {label: {"mean": acc, "std": std} for label in LABELS}
    return {"n_seeds": n, "accuracy": {"mean": acc, "std": std}, "macro_f1": {"mean": f1, "std": std},
            "auc_ovr": {"mean": 0.9, "std": std}, "per_class_recall": recall,
            "confusion_matrix": [[8, 1, 1], [1, 8, 1], [1, 1, 8]]}


def _old(n=1):
    return {"labels": LABELS, "seeds": list(range(n)), "best_seed": 0, "model": "cnn", "layout": "folders",
            "leakage_count": 0, "split_sizes": {"train_clips": 60, "val_clips": 30},
            "per_seed": [{"seed": i, "confusion_matrix": [[8, 1, 1], [1, 8, 1], [1, 1, 8]]} for i in range(n)],
            "summary": _summary(0.8, 0.79, n, std=0.0)}


def _new(cv=False):
    doc = {**_old(3), "summary": _summary(0.70, 0.68, 6 if cv else 3), "val_summary": _summary(0.90, 0.88, 6 if cv else 3),
           "split_sizes": {"train_clips": 50, "val_clips": 20, "test_clips": 20},
           "chance": {"accuracy": 0.34, "macro_f1": 0.17},
           "evaluation": {"scheme": "nested_cv" if cv else "holdout", "test_groups": ["s1"], "val_groups": ["s2"],
                          "description": "Nested 2-fold cross-validation by group: each clip was tested once."
                          if cv else "Hold-out split by speaker: tested on 20 clips from 1 speakers (s1)."}}
    if cv:
        doc["pooled"] = {"accuracy": 0.72, "macro_f1": 0.71, "auc_ovr": None, "n_clips": 60,
                         "per_class_recall": {label: 0.7 for label in LABELS},
                         "confusion_matrix": [[15, 3, 2], [3, 14, 3], [2, 4, 14]]}
    return doc


def _panel(qtbot, tmp_path, doc):
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    (run / "metrics.json").write_text(json.dumps(doc))
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.show_run(run)
    return panel, run


def test_an_old_run_keeps_one_column_and_one_seed_shows_no_plus_minus(qtbot, tmp_path):
    panel, run = _panel(qtbot, tmp_path, _old(1))
    shown = panel.displayed()
    assert shown["columns"] == "metric | value" and "val:accuracy" not in shown
    assert shown["accuracy"] == "0.800" and shown["macro_f1"] == "0.790" and shown["recall:a"] == "0.800"
    assert "±" not in " ".join(shown.values())
    assert "Validation" in shown["headline"] and "0.800" in shown["headline"] and shown["evaluation"] == ""
    assert list_runs(tmp_path)[0].accuracy == "0.800"
    (tmp_path / "three").mkdir()
    panel3, _ = _panel(qtbot, tmp_path / "three", _old(3))
    assert panel3.displayed()["accuracy"] == "0.800 ± 0.000"            # several seeds keep their ±
    assert panel3.displayed()["columns"] == "metric | mean ± std"


def test_a_new_holdout_run_shows_test_beside_validation_and_says_how_it_was_measured(qtbot, tmp_path):
    panel, _ = _panel(qtbot, tmp_path, _new())
    shown = panel.displayed()
    assert shown["columns"] == "metric | test (mean ± std) | validation (mean ± std)"
    assert shown["accuracy"] == "0.700 ± 0.010" and shown["val:accuracy"] == "0.900 ± 0.010"
    assert shown["recall:b"] == "0.700 ± 0.010" and shown["val-recall:b"] == "0.900 ± 0.010"
    assert shown["headline"].startswith("<b>Test") and "accuracy 0.700" in shown["headline"]
    assert shown["evaluation"] == "Hold-out split by speaker: tested on 20 clips from 1 speakers (s1)."
    assert "20 test clips" in panel.header_label.text()


def test_cross_validation_headlines_the_pooled_figure(qtbot, tmp_path):
    panel, run = _panel(qtbot, tmp_path, _new(cv=True))
    shown = panel.displayed()
    assert "pooled" in shown["headline"] and "accuracy 0.720" in shown["headline"] and "60 clips" in shown["headline"]
    assert "macro F1 0.710" in shown["headline"] and shown["evaluation"].startswith("Nested 2-fold")
    assert panel.matrix_choice.currentData() == "pooled" and panel.matrix.matrix[0] == [15, 3, 2]
    assert list_runs(tmp_path)[0].accuracy == "0.720 (pooled)"
    assert "uncalibrated" not in shown["headline"]
    spoken = {**_new(cv=True), "pooled_uncalibrated": {"accuracy": 0.61, "macro_f1": 0.6, "n_clips": 60}}
    (tmp_path / "speakers").mkdir()
    speaker_panel, _ = _panel(qtbot, tmp_path / "speakers", spoken)   # speaker normalisation: both figures
    assert "uncalibrated: accuracy 0.610 · macro F1 0.600" in speaker_panel.displayed()["headline"]


def test_near_chance_rule_both_sides():
    doc = _new()                                   # chance accuracy 0.34 -> bar 0.505; macro F1 1/3 -> bar 0.5
    assert near_chance_warning(doc) is None        # 0.70 / 0.68
    doc["summary"]["macro_f1"]["mean"] = 0.49
    warning = near_chance_warning(doc)
    assert warning and "macro F1 0.490" in warning and "chance 0.333" in warning and "3 classes" in warning
    assert "accuracy 0.340" in warning            # what chance is, in words
    doc["summary"]["macro_f1"]["mean"] = 0.51
    assert near_chance_warning(doc) is None
    doc["summary"]["accuracy"]["mean"] = 0.50      # just under 0.34 + 0.25 * 0.66
    assert "accuracy 0.500" in near_chance_warning(doc)
    old = _old(1)                                  # no "chance": from the confusion matrix, majority row / total
    old["summary"]["confusion_matrix"] = [[30, 0], [10, 0]]
    old["labels"] = ["a", "b"]
    floor = chance(old)
    assert floor["accuracy"] == pytest.approx(0.75) and floor["majority"] == "a"
    assert floor["macro_f1"] == pytest.approx(0.5)            # max(2*0.75/1.75/1, 1/2) with one class present
    old["summary"]["accuracy"]["mean"] = 0.75
    assert "always answering “a”" in near_chance_warning(old)


def _answer_next_box(qtbot, button, texts: list[str]):
    """Click ``button`` on the next message box that opens (a real, modal QMessageBox)."""
    timer = QTimer()
    timer.setSingleShot(True)

    def answer():
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            texts.append(box.text())
            box.button(button).click()
        else:
            timer.start(20)

    timer.timeout.connect(answer)
    timer.start(20)
    return timer


def test_a_cancelled_run_exports_its_checkpoint_after_a_confirmation(qtbot, main_window, wizard_env, emodb):  # noqa: F811
    pytest.importorskip("torch")
    wizard = make_wizard(qtbot, main_window)
    walk_to_training(qtbot, wizard, emodb, epochs=200, seeds="7", batch_size=4)
    page = wizard.train_page
    epochs = []
    page.worker.progressed.connect(lambda p: epochs.append(p.epoch) if "val_loss" in (p.metrics or {}) else None)
    qtbot.waitUntil(lambda: len(epochs) >= 1 and page.eta_label.text().startswith("ETA"), timeout=60_000)
    with qtbot.waitSignal(page.worker.cancelled, timeout=10_000):
        page.cancel_button.click()
    assert page.eta_label.text() == ""                          # no stale ETA once it stopped
    assert page.isComplete() and wizard.button(QWizard.NextButton).isEnabled()
    wizard.next()
    assert wizard.currentPage() is wizard.results_page
    assert "figures incomplete" in wizard.results_page.panel.header_label.text()
    wizard.next()
    export = wizard.export_page
    export.name_edit.setText("stopped")
    texts: list[str] = []
    timer = _answer_next_box(qtbot, QMessageBox.No, texts)      # declined: nothing is written
    assert export.export() is None and "cancelled run" in texts[0]
    timer.stop()
    assert not (wizard_env / "user_models" / "stopped.onnx").exists()
    timer = _answer_next_box(qtbot, QMessageBox.Yes, texts)
    with qtbot.waitSignal(export.exported, timeout=90_000) as blocker:
        assert export.export() is not None
    target = blocker.args[0]
    assert target == wizard_env / "user_models" / "stopped.onnx" and target.is_file()
    assert main_window.catalog.current.path == target
    meta = main_window.catalog.current.meta.raw
    assert meta["cancelled"] is True and meta["checkpoint"]["seed"] == 7
    assert (f"exported from a cancelled run (epoch {meta['checkpoint']['epoch']}, seed 7): figures incomplete"
            in export.done_label.text())

    from gui.wizard.runs_dialog import PastRunsDialog  # the past run's "Use this model" too

    dialog = PastRunsDialog(main_window.catalog, root=wizard_env / "runs")
    qtbot.addWidget(dialog)
    dialog.table.selectRow(0)
    assert dialog.records[0].status == "cancelled" and dialog.use_button.isEnabled()
    assert "figures incomplete" in dialog.panel.header_label.text()
    timer = _answer_next_box(qtbot, QMessageBox.Yes, texts)
    dialog.use_button.click()
    qtbot.waitUntil(lambda: "Now the live model" in dialog.status_label.text(), timeout=90_000)
    assert "figures incomplete" in dialog.status_label.text() and "cancelled run" in texts[-1]
    assert main_window.catalog.current.meta.raw["cancelled"] is True
    dialog.close()
    wizard.close()


def test_finish_on_a_near_chance_run_asks_then_exports_in_the_background(qtbot, tmp_path, monkeypatch, catalog):
    """A finished run (real ONNX model) whose test figures are near chance: No writes nothing, Yes exports."""
    from types import SimpleNamespace

    from gui.wizard.export_page import ExportPage
    from tests.helpers_onnx import write_tone_model

    monkeypatch.setenv("EARMARK_USER_MODELS", str(tmp_path / "user_models"))
    run = tmp_path / "run"
    run.mkdir()
    write_tone_model(run / "model.onnx")
    doc = _new()
    doc["summary"]["accuracy"]["mean"] = 0.36
    (run / "metrics.json").write_text(json.dumps(doc))
    session = SimpleNamespace(run_dir=run, metrics=doc, model=SimpleNamespace(name="cnn"), exported=None)
    page = ExportPage(session, catalog)
    qtbot.addWidget(page)
    page.initializePage()
    texts: list[str] = []
    _answer_next_box(qtbot, QMessageBox.No, texts)
    assert page.export() is None and "Not exported" in page.done_label.text()
    assert "accuracy 0.360 (chance 0.340" in texts[0] and not (tmp_path / "user_models").exists()
    _answer_next_box(qtbot, QMessageBox.Yes, texts)
    with qtbot.waitSignal(page.exported, timeout=60_000) as blocker:
        assert page.validatePage() is False               # Finish starts the export; the page waits for it
    assert blocker.args[0].is_file() and blocker.args[0].parent == tmp_path / "user_models"
    assert catalog.current.path == blocker.args[0] and page.validatePage() is True
    assert "cancelled" not in page.done_label.text()


def test_a_double_clicked_clip_is_read_off_the_gui_thread_then_played_and_a_broken_one_is_named(
        qtbot, tmp_path, write_wav, monkeypatch):
    """Review: the results page decoded the chosen clip on the GUI thread."""
    import threading

    import numpy as np
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QListWidgetItem

    import gui.wizard.results_page as results_page

    panel, _run = _panel(qtbot, tmp_path, _new())
    readers = []
    real_load = results_page.load_audio
    monkeypatch.setattr(results_page, "load_audio",
                        lambda path: (readers.append(threading.current_thread()), real_load(path))[1])
    good = write_wav("good.wav", (0.1 * np.sin(np.arange(8000) * 0.2)).astype(np.float32), 16000)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEnot audio at all")
    for path in (good, bad):
        item = QListWidgetItem(path.name)
        item.setData(Qt.UserRole, str(path))
        panel.clip_list.addItem(item)
    panel.show()
    qtbot.waitExposed(panel)
    for row in (0, 1):
        rect = panel.clip_list.visualItemRect(panel.clip_list.item(row))
        qtbot.mouseClick(panel.clip_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # as a person does:
        qtbot.mouseDClick(panel.clip_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # press, then twice
        if row == 0:
            qtbot.waitUntil(lambda: panel.status_label.text() == "Playing good.wav", timeout=5000)
    qtbot.waitUntil(lambda: "bad.wav" in panel.status_label.text()
                    and not panel.status_label.text().startswith(("Reading", "Playing")), timeout=5000)
    assert len(readers) == 2 and all(t is not threading.main_thread() for t in readers)
    panel.player.stop()
