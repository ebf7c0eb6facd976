"""Walk the training wizard end to end on a tiny synthetic EmoDB set, on the CPU.

Data → split (speaker, leakage 0) → augmentation preview → model → training in the
worker while the event loop keeps running → results equal to metrics.json → export →
the live view classifies with the new model.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from engine.audio.io import load_audio
from engine.datasets.synth import write_emodb
from engine.live.sources import FileSource

pytest.importorskip("torch")

LABELS = ["anger", "boredom", "disgust", "fear", "happiness", "neutral", "sadness"]


@pytest.fixture
def emodb(tmp_path):
    return write_emodb(tmp_path / "emodb", n_speakers=4, sentences_per_speaker=3, seconds=0.5,
                       sample_rate_hz=8000, seed=1)


@pytest.fixture
def wizard_env(tmp_path, monkeypatch):
    monkeypatch.setenv("EARMARK_USER_MODELS", str(tmp_path / "user_models"))
    monkeypatch.setenv("EARMARK_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("EARMARK_CACHE_DIR", str(tmp_path / "cache"))
    import torch

    # two intra-op threads on a busy 2-core machine made each tiny step 20-50x slower than one
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tmp_path
    torch.set_num_threads(threads)


def make_wizard(qtbot, main_window):
    from gui.wizard import open_wizard

    wizard = open_wizard(main_window, job_overrides={"workers": 1, "n_mels": 32, "patience": 50})
    qtbot.addWidget(wizard)
    return wizard


def walk_to_training(qtbot, wizard, data, *, epochs: int, seeds: str, batch_size: int = 16):
    """Fill pages 1-4 as a person would and press Next onto the training page."""
    page = wizard.data_page
    assert wizard.currentPage() is page and not page.isComplete()
    assert page.choose(data)
    assert "emodb" in page.layout_label.text()
    assert page.table.rowCount() == 7
    wizard.next()
    split = wizard.split_page
    assert wizard.currentPage() is split
    qtbot.waitUntil(split.isComplete, timeout=20_000)      # the preview is computed in a worker
    assert "no group, source file or shared audio on both sides" in split.audit_label.text()
    assert wizard.session.split_report["leakage_count"] == 0
    wizard.next()
    augment = wizard.augment_page
    augment.editor("gain").setChecked(True)
    augment.editor("noise").setChecked(True)
    augment.editor("noise").set_range("snr_db", 10.0, 20.0)
    wizard.next()
    model = wizard.model_page
    qtbot.waitUntil(model.ready, timeout=60_000)           # torch loads in a worker
    model.model_combo.setCurrentText("cnn")
    model.set_input_size(16, 16)
    model.epochs_spin.setValue(epochs)
    model.batch_spin.setValue(batch_size)
    model.seeds_edit.setText(seeds)
    assert model.device_combo.currentText() == "cpu"
    wizard.next()
    assert wizard.currentPage() is wizard.train_page


def test_data_page_says_why_a_data_set_cannot_be_used(qtbot, main_window, wizard_env, write_wav):
    wizard = make_wizard(qtbot, main_window)
    page = wizard.data_page
    assert not page.choose(wizard_env / "nowhere")
    assert "no such data set folder" in page.error_label.text()
    one_class = wizard_env / "one_class"
    for i in range(3):
        write_wav(f"one_class/dog/{i}.wav", np.zeros(800, dtype=np.float32), 8000)
    assert not page.choose(one_class)
    assert "at least two" in page.error_label.text() and not page.isComplete()
    wizard.close()


def test_augmentation_preview_renders_each_variant(qtbot, main_window, wizard_env, emodb):
    wizard = make_wizard(qtbot, main_window)
    wizard.data_page.choose(emodb)
    wizard.next()
    qtbot.waitUntil(wizard.split_page.isComplete, timeout=20_000)
    wizard.next()
    page = wizard.augment_page
    for name in ("noise", "pitch_shift", "time_stretch", "reverb", "gain"):
        page.editor(name).setChecked(True)
    page.preview_button.click()
    assert not page.preview_button.isEnabled()              # rendering in a worker thread
    qtbot.waitUntil(lambda: not page.busy() and len(page.rows) == 6, timeout=30_000)
    assert [r.play_button.text()[2:] for r in page.rows] == ["original", "noise", "pitch_shift", "time_stretch",
                                                             "reverb", "gain"]
    original = page.rows[0].samples
    for row in page.rows[1:]:
        assert row.samples.shape == original.shape and not np.allclose(row.samples, original)
        assert np.isfinite(row.samples).all()
    page.player.use_device = False                          # the app's one player, on its clock here
    page.rows[2].play_button.click()
    assert page.player.playing and np.array_equal(page.player.samples, page.rows[2].samples.astype(np.float32))
    page.player.stop()
    page.editor("gain").set_range("db", 5.0, -5.0)          # min above max: refused on this page
    assert not page.isComplete() and "gain" in page.status_label.text()
    wizard.close()


def test_walk_the_whole_wizard_then_classify_live(qtbot, main_window, wizard_env, emodb):
    wizard = make_wizard(qtbot, main_window)
    walk_to_training(qtbot, wizard, emodb, epochs=2, seeds="1 2")
    page = wizard.train_page
    ticks = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(page.worker.is_running() if page.worker else False))
    timer.start()
    with qtbot.waitSignal(page.worker.finished, timeout=90_000):
        pass
    timer.stop()
    assert sum(ticks) >= 5, "the event loop must keep running while training"
    assert page.state == "finished" and page.isComplete()
    assert page.curves.n_points() == 4            # 2 seeds x 2 epochs
    qtbot.waitUntil(lambda: not page.worker.is_running(), timeout=5000)

    wizard.next()
    results = wizard.results_page.panel
    run_dir = wizard.session.run_dir
    metrics = json.loads((run_dir / "metrics.json").read_text())
    shown = results.displayed()
    for key in ("accuracy", "macro_f1", "auc_ovr"):
        entry = metrics["summary"][key]
        assert shown[key] == f"{entry['mean']:.3f} ± {entry['std']:.3f}"
    for label, entry in metrics["summary"]["per_class_recall"].items():
        expected = "n/a" if entry["mean"] is None else f"{entry['mean']:.3f} ± {entry['std']:.3f}"
        assert shown[f"recall:{label}"] == expected
    assert results.matrix_choice.count() == 3      # summed + each seed; the exported seed's is shown first
    exported = [m for m in metrics["per_seed"] if m["seed"] == metrics["best_seed"]][0]
    assert results.matrix.matrix == exported["confusion_matrix"]
    assert "(exported)" in results.matrix_choice.currentText()
    results.matrix_choice.setCurrentIndex(0)
    assert results.matrix.matrix == metrics["summary"]["confusion_matrix"]
    row = next(i for i, r in enumerate(results.matrix.matrix) if sum(r))
    col = int(np.argmax(results.matrix.matrix[row]))
    results.matrix.cellClicked.emit(row, col)
    assert results.clip_list.count() >= 1 or "0 clip(s)" in results.clips_label.text()
    wizard_record = json.loads((run_dir / "wizard.json").read_text())
    assert wizard_record["status"] == "finished" and wizard_record["split"]["leakage_count"] == 0
    assert [v[0] for v in wizard_record["variants"]] == ["noise", "gain"]

    wizard.next()
    export = wizard.export_page
    export.name_edit.setText("my-emotions")
    asked = []
    export.ask = lambda _parent, title, text: asked.append(text) or True    # a 2-epoch model may be near chance
    with qtbot.waitSignal(export.exported, timeout=60_000) as blocker:
        assert export.export() is not None                 # a background job, never the GUI thread
    target = blocker.args[0]
    assert target == wizard_env / "user_models" / "my-emotions.onnx" and target.is_file()
    assert main_window.catalog.current.path == target
    assert sorted(main_window.catalog.current.meta.labels) == LABELS
    wizard.accept()

    view = main_window.live_view
    clip = load_audio(next((emodb / "wav").glob("*W*.wav")), 8000).samples
    with qtbot.waitSignal(view.started, timeout=3000):
        assert view.start(lambda ring, rate: FileSource(ring, np.tile(clip, 4), rate, block_size=400, speed=4.0,
                                                         loop=True), 8000)
    qtbot.waitUntil(lambda: view.now_label.text() in LABELS, timeout=10_000)
    assert "my-emotions" in view.model_label.text()
    assert view.last_result.top[0][0] in LABELS
    view.stop()


def test_a_clip_that_cannot_be_read_is_named_on_the_training_page(qtbot, main_window, wizard_env, emodb):
    victim = sorted((emodb / "wav").glob("*.wav"))[5]
    victim.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")      # a real file, not audio
    wizard = make_wizard(qtbot, main_window)
    walk_to_training(qtbot, wizard, emodb, epochs=1, seeds="1")
    page = wizard.train_page
    with qtbot.waitSignal(page.worker.finished, timeout=90_000):
        pass
    assert page.state == "finished"
    assert len(page.warnings) == 1 and victim.name in page.warnings[0]     # typed, never throttled away
    assert victim.name in page.warnings_label.text() and not page.warnings_label.isHidden()
    metrics = json.loads((wizard.session.run_dir / "metrics.json").read_text())
    assert [p for p, _ in metrics["skipped"]] == [str(victim)]
    qtbot.waitUntil(lambda: not page.worker.is_running(), timeout=5000)
    wizard.reject()


def test_past_runs_dialog_reopens_a_run(qtbot, main_window, wizard_env):
    from gui.wizard import open_past_run
    from gui.wizard.runs import new_run_dir

    run = new_run_dir("cnn", root=wizard_env / "runs")
    metrics = {"labels": ["a", "b"], "seeds": [1], "best_seed": 1, "model": "cnn", "layout": "folders",
               "leakage_count": 0, "split_sizes": {"train_clips": 8, "val_clips": 2},
               "per_seed": [{"seed": 1, "confusion_matrix": [[1, 0], [1, 0]]}],
               "summary": {"n_seeds": 1, "accuracy": {"mean": 0.5, "std": 0.0},
                           "macro_f1": {"mean": 0.33, "std": 0.0}, "auc_ovr": {"mean": None, "std": None},
                           "per_class_recall": {"a": {"mean": 1.0, "std": 0.0}, "b": {"mean": 0.0, "std": 0.0}},
                           "confusion_matrix": [[1, 0], [1, 0]]}}
    (run / "metrics.json").write_text(json.dumps(metrics))
    dialog = open_past_run(main_window, run)
    qtbot.addWidget(dialog)
    assert dialog.records[0].accuracy == "0.500"                     # one seed: no "± 0.000"
    assert dialog.panel.displayed()["accuracy"] == "0.500"
    assert dialog.panel.displayed()["auc_ovr"] == "n/a"
    assert not dialog.use_button.isEnabled()       # no model.onnx in this run
    dialog.close()


def test_audited_labels_are_used_unless_declined(qtbot, main_window, wizard_env, emodb):
    from engine.datasets.edits import LabelEdits
    from engine.datasets.manifest import read_manifest

    original = read_manifest(emodb, use_edits=False)
    edits = LabelEdits.for_manifest(original)
    angry = [c for c in original.clips if c.label == "anger"]
    for clip in angry[:2]:
        edits.relabel(edits.key(clip.path), "neutral")
    wizard = make_wizard(qtbot, main_window)
    page = wizard.data_page
    assert page.choose(emodb)
    counts = {page.table.item(r, 0).text(): int(page.table.item(r, 1).text()) for r in range(page.table.rowCount())}
    assert counts["anger"] == len(angry) - 2 and "Audited label edits" in page.warning_label.text()
    page.edits_check.setChecked(False)
    assert wizard.session.manifest.class_counts()["anger"] == len(angry)
    wizard.next()
    qtbot.waitUntil(wizard.split_page.isComplete, timeout=20_000)
    from gui.wizard.plan import TrainPlan

    plan = TrainPlan(wizard.session, runs_root=wizard_env / "runs")
    run_dir = plan.prepare()                       # declined edits: the exact clip list is written
    assert plan.layout == "csv" and (run_dir / "data.csv").is_file()
    assert read_manifest(run_dir / "data.csv").class_counts()["anger"] == len(angry)
    wizard.close()


def test_kfold_by_a_column_trains_the_folds_it_shows(qtbot, main_window, wizard_env, emodb):
    from engine.datasets.manifest import read_manifest
    from gui.wizard.plan import TrainPlan
    from trainer.run.crossval import make_splits

    wizard = make_wizard(qtbot, main_window)
    wizard.data_page.choose(emodb)
    wizard.next()
    split = wizard.split_page
    split.kfold_radio.setChecked(True)
    split.k_spin.setValue(4)
    qtbot.waitUntil(lambda: not split.busy() and split.isComplete(), timeout=20_000)
    report = wizard.session.split_report
    assert len(report["folds"]) == 4 and report["leakage_count"] == 0
    test_speakers = [tuple(f["test_groups"]) for f in report["folds"]]
    assert sorted(g for groups in test_speakers for g in groups) == ["03", "08", "09", "10"]
    split.column_combo.setCurrentIndex(split.column_combo.findData("file"))
    qtbot.waitUntil(lambda: not split.busy() and split.isComplete(), timeout=20_000)
    by_file = wizard.session.split_report
    assert len(by_file["folds"]) == 4 and by_file["leakage_count"] == 0

    plan = TrainPlan(wizard.session, runs_root=wizard_env / "runs")
    plan.prepare()
    request = plan.request()
    assert plan.layout == "csv" and request.folds == 4 and request.cv_by == "group"
    trained_on = read_manifest(plan.data)           # what the job reads: groups are the files
    assert {c.group for c in trained_on.clips} == {str(c.path) for c in trained_on.clips}
    folds = make_splits(trained_on, mode="kfold", by=request.cv_by, k=request.folds, seed=request.split_seed)
    assert [sorted(f.test_groups) for f in folds] == [sorted(f["test_groups"]) for f in by_file["folds"]]
    assert [sorted(f.val_groups) for f in folds] == [sorted(f["val_groups"]) for f in by_file["folds"]]
    assert sum(f["sizes"]["test"] for f in by_file["folds"]) == len(trained_on.clips)
    wizard.close()


def test_kfold_runs_are_pooled_into_one_metrics_json(tmp_path):
    from engine.datasets.manifest import Clip, Manifest
    from trainer.run.crossval import combine_folds

    manifest = Manifest(tmp_path, "csv", [Clip(tmp_path / f"{i}.wav", label="ab"[i % 2], group=f"g{i // 2}")
                                          for i in range(4)], ["a", "b"])

    def fold_doc(accuracies, matrix, clips, probs):
        per_seed = [{"seed": s, "accuracy": a, "macro_f1": a, "auc_ovr": None, "confusion_matrix": matrix,
                     "per_class_recall": {"a": a, "b": None}, "best_epoch": 3,
                     "val": {"accuracy": 0.5, "macro_f1": 0.5, "auc_ovr": None, "confusion_matrix": matrix}}
                    for s, a in zip((1, 2), accuracies, strict=True)]
        return {"labels": ["a", "b"], "per_seed": per_seed, "seeds": [1, 2], "model": "cnn", "layout": "csv",
                "summary": {"accuracy": {"mean": sum(accuracies) / 2}}, "split": {"test_groups": ["g"]},
                "split_sizes": {"train_clips": 2, "val_clips": 1, "test_clips": 2}, "leakage_count": 0,
                "test_clip_predictions": {"clips": clips, "probs": probs}}

    docs = [fold_doc((0.5, 0.7), [[1, 0], [1, 0]], [0, 1], [[0.9, 0.1], [0.8, 0.2]]),
            fold_doc((0.9, 1.0), [[1, 0], [0, 1]], [2, 3], [[0.7, 0.3], [0.1, 0.9]])]
    doc = combine_folds(docs, tmp_path, manifest)
    assert doc["summary"]["n_seeds"] == 4 and "best_fold" not in doc        # no fold's model is chosen
    assert doc["summary"]["accuracy"]["mean"] == pytest.approx(0.775)
    assert doc["summary"]["confusion_matrix"] == [[4, 0], [2, 2]]
    assert doc["pooled"]["n_clips"] == 4 and doc["pooled"]["accuracy"] == pytest.approx(0.75)
    assert doc["pooled"]["confusion_matrix"] == [[2, 0], [1, 1]] and doc["evaluation"]["scheme"] == "nested_cv"
    assert json.loads((tmp_path / "metrics.json").read_text()) == doc
    assert (tmp_path / "oof_predictions.csv").read_text().count("\n") == 5


def test_without_torch_the_wizard_explains_how_to_install_it(qtbot, main_window, monkeypatch):
    import sys

    from PySide6.QtWidgets import QMessageBox

    from gui.wizard import open_wizard

    shown = []
    monkeypatch.setitem(sys.modules, "torch", None)               # as if torch were not installed
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: shown.append(text))
    assert open_wizard(main_window) is None
    assert "pip install .[train]" in shown[0] and "./earmark" in shown[0]


def test_past_runs_open_where_the_trainer_is_not_installed(tmp_path):
    """The frozen app ships without ``trainer``: "Open a past run…" must still work there."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    run = tmp_path / "runs" / "20261201-000000-cnn"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({"labels": ["a", "b"], "summary": {
        "accuracy": {"mean": 0.5, "std": 0.0}}}))
    code = r"""
import importlib.abc, sys
class NoTrainer(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "trainer" or name.startswith(("trainer.", "torch")):
            raise ImportError(f"No module named {name!r} (not installed)")
sys.meta_path.insert(0, NoTrainer())
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication([])
from gui.wizard import open_past_run, torch_missing_reason
assert torch_missing_reason() is not None
parent = QWidget()
dialog = open_past_run(parent)
print(len(dialog.records), dialog.records[0].accuracy)
dialog.close()
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(repo),
           "EARMARK_RUNS_DIR": str(tmp_path / "runs")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "1 0.500"          # one seed: no "± 0.000"
