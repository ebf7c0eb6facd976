"""The Label window reached from the index map: a dot's "More like this…" opens it on the map's index
with the chosen window's neighbours (a real index of real WAVs by a real ONNX model); a selection
without a region in the Annotate tab asks for nothing and says so."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from engine.index.build import IndexRequest, index_job
from gui.index.label_view import LabelWindow
from gui.index.map_view import IndexMapWindow
from tests.engine.index.helpers import BURST_S, LOW_AT_S, NAMES, shift_s, write_folder, write_model


def test_more_like_this_on_the_map_opens_the_label_window(qtbot, main_window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    root = write_folder(tmp_path / "recordings")
    index_job(IndexRequest(root, write_model(tmp_path / "tones.onnx"), out=tmp_path / "idx"))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "idx"))
    main_window._on_index_map()
    window = main_window.findChild(IndexMapWindow)
    qtbot.waitUntil(lambda: window.view.projection is not None, timeout=20_000)
    projection = window.view.projection
    burst = next(i for i in range(len(projection)) if projection.window_of(i)[0] == "r0.wav"
                 and abs(projection.window_of(i)[1] - LOW_AT_S) < 1e-6)
    window.view.choose(burst)
    qtbot.mouseClick(window.view.like_button, Qt.MouseButton.LeftButton)
    label_window = main_window.label_window
    assert isinstance(label_window, LabelWindow) and label_window.root == tmp_path / "idx"
    view = label_window.view
    qtbot.waitUntil(lambda: bool(view.hits_session and view.hits_session.items), timeout=20_000)
    hits = view.hits_session.items[:5]
    assert sorted(h.recording for h in hits) == sorted(NAMES[1:])
    for hit in hits:
        first = LOW_AT_S + shift_s(NAMES.index(hit.recording))
        assert min(hit.end_s, first + BURST_S) - max(hit.start_s, first) >= BURST_S / 2 - 1e-6
    assert view.hits_session.default_label() == hits[0].answer == "tone_300hz"   # no region label: the model's

    # a window of the recording open in the Annotate tab, labelled with B, shows there at once
    assert main_window.show_in_annotate(str(root / "r0.wav"), 0.0, 1.0)
    track = main_window.annotate_view.track
    position = next(i for i, h in enumerate(view.hits_session.items) if h.recording == "r0.wav")
    hit = view.hits_session.items[position]
    view.hits_session.set_current(position)
    QTest.keyClick(view.hits_panel.list, Qt.Key.Key_B)
    qtbot.waitUntil(lambda: any((r.start_s, r.end_s, r.label) == (hit.start_s, hit.end_s, "background")
                                for r in track.accepted()), timeout=10_000)
    label_window.close()
    window.close()


def test_more_like_this_without_a_selection_says_what_to_do(qtbot, main_window, two_tone_wav):
    messages = []
    main_window.annotate_view.status_message.connect(messages.append)
    assert main_window.annotate_view.open_file(two_tone_wav)
    main_window.more_like_this_action.trigger()
    assert main_window.label_window is None
    assert any("select a region" in m for m in messages)


def test_file_menu_opens_it_space_plays_and_one_label_cannot_train(qtbot, main_window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    root = write_folder(tmp_path / "recordings")
    index_job(IndexRequest(root, write_model(tmp_path / "tones.onnx"), out=tmp_path / "idx"))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "idx"))
    monkeypatch.setenv("EARMARK_RUNS_DIR", str(tmp_path / "runs"))
    main_window._on_label_from_index()                          # File ▸ Label from an index…
    view = main_window.label_window.view
    qtbot.waitUntil(lambda: bool(view.queue_session and view.queue_session.items), timeout=20_000)
    panel = view.queue_panel
    view.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: all(i.row in panel.tiles for i in view.queue_session.items), timeout=20_000)
    first = view.queue_session.items[0]
    assert panel.list.item(0).icon().availableSizes()            # a spectrogram tile
    QTest.keyClick(panel.list, Qt.Key.Key_Space)
    assert view.player.playing and len(view.player.source) == round((first.end_s - first.start_s) * 8000)
    view.player.stop()
    QTest.keyClick(panel.list, Qt.Key.Key_Return)                # the model's answer, one label only
    with qtbot.waitSignal(view.failed, timeout=20_000) as failed:
        QTest.keyClick(panel.list, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert "at least two labels" in failed.args[0] and first.answer in failed.args[0]
    assert view.train_button.isEnabled()
    main_window.label_window.close()
