"""The labelling loop in the app, end to end on real widgets: an index of real WAVs by a real ONNX
model, a region in the Annotate tab, More like this (Ctrl+Shift+F), hits labelled with keys, the
queue labelled with keys, Train from these labels (a tiny real training in the child process) and
the re-score: the new index's model knows the new labels, the sidecars hold the regions."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from engine.annotations.regions import RegionTrack
from engine.index.build import IndexRequest, index_job
from engine.index.labelling import labelled_rows
from gui.index.label_view import PER_PAGE
from tests.engine.index.helpers import BURST_S, LOW_AT_S, NAMES, shift_s, write_folder, write_model

pytest.importorskip("torch")

TINY = {"model": "cnn", "epochs": 1, "seeds": (1,), "batch_size": 4, "n_mels": 16, "input_size": (16, 16),
        "workers": 1, "refit": False}


def _accepted(path) -> list[tuple[float, float, str]]:
    return sorted((r.start_s, r.end_s, r.label) for r in RegionTrack.open(path).accepted())


def _covers_low_burst(item) -> bool:
    first = LOW_AT_S + shift_s(NAMES.index(item.recording))
    return min(item.end_s, first + BURST_S) - max(item.start_s, first) >= BURST_S / 2 - 1e-6


def _keys(qtbot, widget, *keys) -> None:
    for key in keys:
        QTest.keyClick(widget, key)


def test_the_loop_walks_in_the_app(qtbot, main_window, tmp_path, monkeypatch):
    monkeypatch.setenv("EARMARK_RUNS_DIR", str(tmp_path / "runs"))
    root = write_folder(tmp_path / "recordings")
    index_job(IndexRequest(root, write_model(tmp_path / "tones.onnx"), out=tmp_path / "idx"))

    window = main_window.open_label_window(tmp_path / "idx")
    view = window.view
    qtbot.addWidget(window)
    with qtbot.waitSignal(view.queue_shown, timeout=20_000):       # opening shows the queue's first page
        pass
    assert view.index.labels[0] == "tone_300hz" and view.queue_panel.list.count() == PER_PAGE

    # a region labelled "low" in the Annotate tab; Ctrl+Shift+F asks for more like it
    assert main_window.show_in_annotate(str(root / "r0.wav"), LOW_AT_S, LOW_AT_S + BURST_S)
    annotate = main_window.annotate_view
    region = annotate.track.add(LOW_AT_S, LOW_AT_S + BURST_S, "low")
    annotate.label_lane.select(region.id)
    main_window.activateWindow()                                    # the Label window opened on top of it
    qtbot.waitUntil(main_window.isActiveWindow, timeout=5000)
    annotate.label_lane.setFocus()
    with qtbot.waitSignal(view.hits_shown, timeout=20_000):
        QTest.keyClick(annotate.label_lane, Qt.Key.Key_F,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    hits = view.hits_session.items
    assert len(hits) == 20 and view.tabs.currentWidget() is view.hits_panel
    assert sorted(h.recording for h in hits[:5]) == sorted(NAMES[1:]) and all(map(_covers_low_burst, hits[:5]))
    assert "accept as <b>low</b>" in view.hits_panel.keys_label.text()

    # keys on the hit list: Enter ×5 (low), B ×2, Enter (low by mistake), ↑, R "background" Enter (relabel)
    hit_list = view.hits_panel.list
    hit_list.setFocus()
    _keys(qtbot, hit_list, *[Qt.Key.Key_Return] * 5, Qt.Key.Key_B, Qt.Key.Key_B, Qt.Key.Key_Return, Qt.Key.Key_Up,
          Qt.Key.Key_R)
    assert view.hits_panel.relabel_edit.hasFocus()
    QTest.keyClicks(view.hits_panel.relabel_edit, "background")
    QTest.keyClick(view.hits_panel.relabel_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: all(h.saved for h in view.hits_session.items[:8]), timeout=10_000)
    assert [h.label for h in view.hits_session.items[:8]] == ["low"] * 5 + ["background"] * 3
    assert view.hits_session.current == 8 and hit_list.currentRow() == 8
    for hit in view.hits_session.items[:8]:
        assert (hit.start_s, hit.end_s, hit.label) in _accepted(root / hit.recording)
    relabelled = view.hits_session.items[7]
    assert [r for r in _accepted(root / relabelled.recording)
            if (r[0], r[1]) == (relabelled.start_s, relabelled.end_s)] == [(relabelled.start_s, relabelled.end_s,
                                                                            "background")]

    # the queue: refreshed, it leaves out what is labelled; B, B, R "background"; PgDn for the next page
    view.tabs.setCurrentWidget(view.queue_panel)
    with qtbot.waitSignal(view.queue_shown, timeout=20_000):
        QTest.keyClick(view.queue_panel.list, Qt.Key.Key_F5)
    queue = view.queue_session.items
    assert not {h.row for h in view.hits_session.items[:8]} & {q.row for q in queue}
    queue_list = view.queue_panel.list
    queue_list.setFocus()
    _keys(qtbot, queue_list, Qt.Key.Key_B, Qt.Key.Key_B, Qt.Key.Key_R)
    QTest.keyClicks(view.queue_panel.relabel_edit, "background")
    QTest.keyClick(view.queue_panel.relabel_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: all(q.saved for q in view.queue_session.items[:3]), timeout=10_000)
    labelled, first_page = [q.row for q in view.queue_session.items[:3]], {q.row for q in view.queue_session.items}
    with qtbot.waitSignal(view.queue_shown, timeout=20_000):
        QTest.keyClick(queue_list, Qt.Key.Key_PageDown)
    assert view.queue_session.page == 1 and len(view.queue_session.items) == PER_PAGE
    assert not first_page & {q.row for q in view.queue_session.items}     # nothing of page 1 comes back
    assert set(labelled) <= set(labelled_rows(view.index))

    # train from these labels, then the folder is re-scored by the new model and the new index opens
    view.recipe = dict(TINY)
    old_index = view.index
    with qtbot.waitSignal(view.rescored, timeout=150_000) as rescored:
        qtbot.mouseClick(view.train_button, Qt.MouseButton.LeftButton)
    result = rescored.args[0]
    assert sorted(result.labels) == ["background", "low"] and sorted(view.index.labels) == ["background", "low"]
    assert view.index.folder == old_index.folder and len(view.index) == len(old_index)
    assert result.counts == {"low": 6, "background": 6}
    metrics = json.loads((result.model_path.parent / "metrics.json").read_text())
    assert sorted(metrics["labels"]) == ["background", "low"] and metrics["leakage_count"] == 0
    qtbot.waitUntil(lambda: bool(view.queue_session.items) and view.queue_session.index is view.index,
                    timeout=20_000)
    assert {q.answer for q in view.queue_session.items} <= {"background", "low"}
    assert (LOW_AT_S, LOW_AT_S + BURST_S, "low") in _accepted(root / "r0.wav")
    window.close()
