"""The Audit tab, driven by the keyboard only, on real WAVs; the saved edits say exactly what was done."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.datasets.edits import EDITS_FILENAME
from engine.datasets.manifest import read_manifest
from engine.datasets.synth import write_emodb
from tests.conftest import sine

NAMES = ["03a01Wa.wav", "03a02Fa.wav", "03a04Ta.wav", "08b01Na.wav", "08b02La.wav", "08b03Ea.wav"]


@pytest.fixture
def emodb(tmp_path, write_wav):
    for i, name in enumerate(NAMES):
        write_wav(f"emodb/wav/{name}", sine(200 + 50 * i, 0.4, 8000), 8000)
    return tmp_path / "emodb"


@pytest.fixture
def view(qtbot):
    from gui.audit_view import AuditView

    widget = AuditView(use_audio_device=False, autoplay=False, folds=2)
    qtbot.addWidget(widget)
    widget.resize(1200, 700)
    widget.show()
    yield widget
    widget.shutdown()


def open_and_wait(qtbot, view, root, layout=None, timeout=20000):
    """Open a data set (a job) and wait until it is shown with its first clip drawn."""
    with qtbot.waitSignal(view.opened, timeout=timeout):
        view.open_dataset(root, layout)
    qtbot.waitUntil(lambda: view.preview.loaded_key == view.current_key() is not None, timeout=timeout)


def _history(root):
    doc = json.loads((root / EDITS_FILENAME).read_text())
    return doc, [(h["clip"], h["action"], h["old"], h["new"], h["via"]) for h in doc["history"]]


def test_relabel_flag_and_undo_by_keyboard_only(qtbot, view, emodb):
    open_and_wait(qtbot, view, emodb, "emodb")
    table = view.table
    assert view.model.labels == ["anger", "boredom", "disgust", "fear", "happiness", "neutral", "sadness"]
    assert view.current_key() == "wav/03a01Wa.wav"  # sorted by file, first selected

    qtbot.keyClick(table, Qt.Key.Key_Down)
    assert view.current_key() == "wav/03a02Fa.wav"
    qtbot.keyClick(table, Qt.Key.Key_2)                      # -> boredom
    qtbot.keyClick(table, Qt.Key.Key_F)                      # flag doubtful
    qtbot.keyClick(table, Qt.Key.Key_Down)
    qtbot.keyClick(table, Qt.Key.Key_S, Qt.KeyboardModifier.ShiftModifier)  # -> sadness (already) : no-op
    qtbot.keyClick(table, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)  # -> anger
    qtbot.keyClick(table, Qt.Key.Key_R)                      # reviewed
    qtbot.keyClick(table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo reviewed
    qtbot.keyClick(table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo anger
    qtbot.keyClick(table, Qt.Key.Key_Z, Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier)

    doc, history = _history(emodb)
    assert history == [
        ("wav/03a02Fa.wav", "relabel", "happiness", "boredom", None),
        ("wav/03a02Fa.wav", "flag", None, "doubtful", None),
        ("wav/03a04Ta.wav", "relabel", "sadness", "anger", None),
        ("wav/03a04Ta.wav", "flag", None, "reviewed", None),
        ("wav/03a04Ta.wav", "unflag", "reviewed", None, "undo"),
        ("wav/03a04Ta.wav", "relabel", "anger", "sadness", "undo"),
        ("wav/03a04Ta.wav", "relabel", "sadness", "anger", "redo"),
    ]
    assert doc["clips"] == {
        "wav/03a02Fa.wav": {"original_label": "happiness", "label": "boredom", "flags": ["doubtful"],
                            "removed_flags": []},
        "wav/03a04Ta.wav": {"original_label": "sadness", "label": "anger", "flags": [], "removed_flags": []},
    }
    # the table and the counts follow; the data set reads back with the edits
    row = view.model.row_of("wav/03a02Fa.wav")
    assert view.model.label(row) == "boredom" and view.model.clip_flags(row) == ("doubtful",)
    assert "anger 2" in view.counts_label.text()
    assert read_manifest(emodb, "emodb").class_counts()["anger"] == 2
    assert sorted(p.name for p in (emodb / "wav").iterdir()) == sorted(NAMES)  # audio untouched


def test_space_plays_and_the_picker_relabels(qtbot, view, emodb):
    open_and_wait(qtbot, view, emodb, "emodb")
    qtbot.keyClick(view.table, Qt.Key.Key_Space)
    assert view.player.playing  # no sound card here: plays silently on a clock, cursor moves
    qtbot.keyClick(view.table, Qt.Key.Key_Space)
    assert not view.player.playing
    view.autoplay_check.setChecked(True)
    qtbot.keyClick(view.table, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: view.player.playing, timeout=5000)  # selecting a clip plays it once decoded
    assert view.preview.loaded_key == "wav/03a02Fa.wav"
    qtbot.keyClick(view.table, Qt.Key.Key_Up)
    qtbot.keyClick(view.table, Qt.Key.Key_Space)  # pressed while the clip decodes: it plays once drawn
    qtbot.waitUntil(lambda: view.preview.loaded_key == "wav/03a01Wa.wav", timeout=5000)
    view.label_picker.activated.emit(view.label_picker.findData("fear"))
    assert view.session.edits.label_of("wav/03a01Wa.wav") == "fear"
    assert view.label_picker.currentData() == "fear"


def test_filters_and_counts(qtbot, view, emodb):
    open_and_wait(qtbot, view, emodb, "emodb")
    assert view.proxy.rowCount() == 6
    view.label_filter.setCurrentText("anger")
    assert view.proxy.rowCount() == 1
    view.label_filter.setCurrentText("All labels")
    view.text_filter.setText("08b")
    assert view.proxy.rowCount() == 3
    assert view.counts_label.text().startswith("3 of 6 shown")


def test_a_bad_folder_is_reported_inline(qtbot, view, tmp_path):
    with qtbot.waitSignal(view.failed, timeout=10000) as blocker:
        view.open_dataset(tmp_path / "missing", "emodb")
    assert "missing" in blocker.args[0] and "missing" in view.message_label.text()
    assert view.session.base is None and not view.actions_bar.rank_button.isEnabled()


def test_what_the_reader_left_out_is_shown(qtbot, view, emodb):
    (emodb / EDITS_FILENAME).write_text("{ not json")      # damaged: set aside, original labels used
    open_and_wait(qtbot, view, emodb, "emodb")
    assert EDITS_FILENAME in view.message_label.text()
    assert view.session.edits.label_of("wav/03a01Wa.wav") == "anger"


def test_rank_suspects_in_a_worker_then_export(qtbot, view, tmp_path):
    root = write_emodb(tmp_path / "synth", n_speakers=2, sentences_per_speaker=3, seconds=0.5,
                       sample_rate_hz=8000, seed=0)
    open_and_wait(qtbot, view, root, "emodb")
    with qtbot.waitSignal(view.ranked, timeout=60000) as blocker:
        assert view.rank_suspects() is not None
    result = blocker.args[0]
    first = view.proxy.index(0, 0)
    assert view.proxy.data(first) == "1"  # suspects first
    assert view.current_key() == result.keys[int(result.order[0])]
    assert "the model says" in view.prediction_label.text()
    qtbot.waitUntil(lambda: view.clip_panel.saliency_shown, timeout=30000)
    assert view.export_csv(tmp_path / "corrected.csv")
    assert len(read_manifest(tmp_path / "corrected.csv", "csv").clips) == 42
    view.shutdown()
    assert view.ranking.worker is None


def test_cancel_ranking_joins_the_worker(qtbot, view, tmp_path):
    root = write_emodb(tmp_path / "synth", n_speakers=2, sentences_per_speaker=2, seconds=0.5,
                       sample_rate_hz=8000, seed=0)
    open_and_wait(qtbot, view, root, "emodb")
    worker = view.rank_suspects()
    with qtbot.waitSignal(worker.cancelled, timeout=30000):
        view.cancel_ranking()
    assert worker.wait(5.0)
    qtbot.waitUntil(lambda: not view.progress.isVisible() or view.session.result is not None, timeout=5000)
    view.shutdown()
    assert not worker.isRunning()


def test_the_view_paints_a_clip(qtbot, view, emodb):
    open_and_wait(qtbot, view, emodb, "emodb")
    image = view.grab().toImage()
    assert image.width() > 0
    assert np.isfinite(view.clip_panel.audio.samples).all()


def test_key_map_is_complete_and_letters_cycle():
    from gui.audit.keys import command_for, next_label_for_letter

    labels = ["anger", "boredom", "disgust", "fear"]
    none, shift, ctrl = Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier, Qt.KeyboardModifier.ControlModifier
    assert command_for(Qt.Key.Key_3, none, labels) == ("relabel", "disgust")
    assert command_for(Qt.Key.Key_3, Qt.KeyboardModifier.KeypadModifier, labels) == ("relabel", "disgust")
    assert command_for(Qt.Key.Key_9, none, labels) is None
    assert command_for(Qt.Key.Key_F, none, labels) == ("toggle_flag", "doubtful")
    assert command_for(Qt.Key.Key_F, shift, labels) == ("relabel_letter", "f")
    assert command_for(Qt.Key.Key_R, none, labels) == ("toggle_flag", "reviewed")
    assert command_for(Qt.Key.Key_Y, ctrl, labels) == ("redo",)
    assert command_for(Qt.Key.Key_Down, none, labels) is None  # the table moves
    cats = ["cat", "cow", "crow", "dog"]
    assert next_label_for_letter("c", cats, "dog") == "cat"
    assert next_label_for_letter("c", cats, "cat") == "cow"
    assert next_label_for_letter("c", cats, "crow") == "cat"
    assert next_label_for_letter("x", cats, "cat") is None


def test_the_main_window_hosts_the_audit_tab(main_window):
    from gui.audit_view import AuditView

    tabs = main_window.tabs
    assert any(isinstance(tabs.widget(i), AuditView) for i in range(tabs.count()))


def test_grad_cam_overlay_with_a_torch_model(qtbot, view, emodb):
    torch = pytest.importorskip("torch")
    from trainer.models import create_model
    from trainer.models.frontend import Classifier, LogMel, WaveformModel

    torch.manual_seed(0)
    labels = ["anger", "boredom", "disgust", "fear", "happiness", "neutral", "sadness"]
    model = WaveformModel(LogMel(8000, n_fft=256, n_mels=16),
                          Classifier(create_model("cnn", num_classes=7), 1, (16, 32))).eval()
    open_and_wait(qtbot, view, emodb, "emodb")
    view.set_torch_model(model, labels)
    qtbot.waitUntil(lambda: view.clip_panel.saliency_shown, timeout=30000)
    assert view.preview.saliency_caption.startswith("Grad-CAM for ")
    image = view.clip_panel.overlay.image
    assert image.shape[1] == view.clip_panel.freqs_hz.size and np.isfinite(image).all()


def test_opening_plays_nothing_and_the_verdict_columns_show_at_laptop_width(qtbot, main_window, emodb):
    """Probe round 3: the first clip played on launch with "Play on select" on, and Predicted / Prob
    were scrolled off to the right of the table at 1366 px."""
    from gui.audit.table import COL

    main_window.resize(1366, 700)
    audit = main_window.audit_view
    main_window.tabs.setCurrentWidget(audit)
    audit.autoplay_check.setChecked(True)
    open_and_wait(qtbot, audit, emodb, "emodb")
    assert not audit.player.playing, "a clip played when the data set opened"
    qtbot.keyClick(audit.table, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: audit.player.playing, timeout=5000)   # a clip the person selects plays
    audit.player.stop()
    viewport = audit.table.viewport().width()
    for name in ("Label", "Predicted", "Prob"):
        column = COL[name]
        right = audit.table.columnViewportPosition(column) + audit.table.columnWidth(column)
        assert right <= viewport, f"{name} is off-screen ({right} > {viewport} px)"
    audit.shutdown()


def test_the_export_dialog_never_offers_a_file_that_exists(qtbot, view, emodb, monkeypatch):
    from pathlib import Path

    from PySide6.QtWidgets import QFileDialog

    open_and_wait(qtbot, view, emodb, "emodb")
    mine = Path(view.session.base.data_root) / "corrected.csv"
    mine.write_text("path,label\nmine.wav,owl\n")
    offered = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (offered.append(a[2]), ("", ""))[1])
    view.export_dialog()
    (default,) = offered
    assert Path(default).parent == mine.parent and not Path(default).exists()
    assert mine.read_text() == "path,label\nmine.wav,owl\n"
