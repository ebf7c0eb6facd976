"""The annotator's day (issue 27): keys that stay alive, no duplicate regions from a lingering
selection or a second import, and accepting every suggestion at once."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from engine.annotations.regions import ACCEPTED, PENDING, SUGGESTION, Region
from tests.conftest import sine
from tests.gui.test_annotate_view import _drag, _open, _x

SR = 16000


@pytest.fixture
def recording(write_wav):
    x = np.zeros(20 * SR, dtype=np.float32)
    x[4 * SR:6 * SR] = sine(300, 2.0, SR)
    return write_wav("rec.wav", x, SR)


@pytest.fixture
def view(annotate_view):
    return annotate_view


def test_n_labels_the_new_region_instead_of_duplicating_the_last_selection(qtbot, view, recording):
    """Select, N makes a region; then a region dragged on the lane and `n` labels it "neutral"."""
    _open(qtbot, view, recording)
    view.labels_edit.setText("anger, neutral")
    view.labels_edit.editingFinished.emit()
    lane = view.label_lane
    view.set_selection((1.0, 2.0))
    lane.setFocus()
    qtbot.keyClick(lane, Qt.Key.Key_N)
    first = view.track.get(lane.selected_id)
    assert (first.start_s, first.end_s) == (1.0, 2.0) and len(view.track.regions) == 1
    assert view.selection is None and lane.selection is None  # the selection is spent
    qtbot.keyClick(lane, Qt.Key.Key_A)
    assert view.track.get(first.id).label == "anger"
    y = lane.height() // 2
    _drag(lane, QPoint(_x(lane, 8.0), y), QPoint(_x(lane, 10.0), y))
    second = lane.selected_id
    qtbot.keyClick(lane, Qt.Key.Key_N)
    assert len(view.track.regions) == 2, [(r.start_s, r.end_s, r.label) for r in view.track.regions]
    assert view.track.get(second).label == "neutral"


def test_importing_labels_a_second_time_skips_the_regions_already_there(qtbot, view, recording, tmp_path):
    _open(qtbot, view, recording)
    labels = tmp_path / "rec.txt"
    labels.write_text("4.0\t6.0\tlow hum\n\\\t200.0\t400.0\n12.0\t13.0\twhistle\n")
    assert _imported(qtbot, view, labels) == 2
    messages = []
    view.status_message.connect(messages.append)
    assert _imported(qtbot, view, labels) == 0
    assert len(view.track.regions) == 2
    assert "skipped 2 already here" in messages[-1]
    labels.write_text("4.0\t6.0\tlow hum\n\\\t200.0\t400.0\n12.0\t13.0\tbird\n")  # one new label on the same span
    assert _imported(qtbot, view, labels) == 1
    assert sorted(r.label for r in view.track.regions) == ["bird", "low hum", "whistle"]


def _imported(qtbot, view, path) -> int:
    """Import a label file as the tab does (a job in a worker) and return how many regions it added."""
    with qtbot.waitSignal(view.labels_imported, timeout=20_000) as blocker:
        assert view.import_labels(path) is not None
    qtbot.waitUntil(lambda: view.import_worker is None, timeout=5_000)
    return blocker.args[0]


def _suggest(qtbot, view, catalog):
    catalog.refresh()
    catalog.select(next(e.path for e in catalog.entries if e.path.name == "tones.onnx"))
    view.confidence_box.setValue(0.9)
    with qtbot.waitSignal(view.suggested, timeout=20000):
        view.suggest()


def test_suggestion_keys_work_right_after_suggest_and_after_tab(qtbot, view, recording, catalog):
    from PySide6.QtWidgets import QApplication

    _open(qtbot, view, recording)
    view.open_button.setFocus()  # as after a click on a button: the focus is elsewhere
    view.track.suggest([Region(8.0, 9.0, "tone_600hz"), Region(15.0, 16.0, "tone_1000hz")])
    _suggest(qtbot, view, catalog)
    lane = view.suggestion_lane
    pending = view.track.suggestions(PENDING)
    assert len(pending) >= 1 and lane.selected_id == pending[0].id
    assert QApplication.focusWidget() is lane, "after Suggest the keys must reach the suggestion lane"
    first = lane.selected_id
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_A)
    assert view.track.get(first).state == ACCEPTED
    view.track.suggest([Region(8.0, 9.0, "tone_600hz"), Region(15.0, 16.0, "tone_1000hz")])
    lane.select_next()
    skipped = lane.selected_id
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is lane, "Tab moved the focus out of the suggestion lane"
    assert lane.selected_id != skipped
    taken = lane.selected_id
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_A)
    assert view.track.get(taken).state == ACCEPTED and view.track.get(skipped).state == PENDING


def test_accept_all_takes_every_pending_suggestion_in_one_undoable_change(qtbot, view, recording):
    _open(qtbot, view, recording)
    view.track.suggest([Region(1.0 + i, 1.5 + i, "call", source=SUGGESTION, state=PENDING) for i in range(12)])
    assert len(view.track.suggestions(PENDING)) == 12
    view.accept_all_button.click()
    assert view.track.suggestions(PENDING) == [] and len(view.track.accepted()) == 12
    view.undo_button.click()
    assert len(view.track.suggestions(PENDING)) == 12 and view.track.accepted() == []
    view.suggestion_lane.setFocus()
    qtbot.keyClick(view.suggestion_lane, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)  # Shift+A
    assert len(view.track.accepted()) == 12


def test_arrow_keys_pan_and_the_playback_zoom_acts_on_the_annotate_tab(qtbot, main_window, recording):
    view = main_window.annotate_view
    main_window.tabs.setCurrentWidget(view)
    _open(qtbot, view, recording)
    view.zoom_to(5.0, 7.0)
    view.label_lane.setFocus()
    qtbot.keyClick(view.label_lane, Qt.Key.Key_Right)
    x0, x1 = view.visible_range()
    assert abs(x0 - 5.4) < 1e-6 and abs(x1 - 7.4) < 1e-6
    qtbot.keyClick(view.label_lane, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)  # a whole view back
    assert abs(view.visible_range()[0] - 3.4) < 1e-6
    qtbot.keyClick(view.label_lane, Qt.Key.Key_End)
    assert abs(view.visible_range()[1] - 20.0) < 1e-6
    qtbot.keyClick(view.label_lane, Qt.Key.Key_Home)
    assert abs(view.visible_range()[0]) < 1e-6
    play = next(a.menu() for a in main_window.menuBar().actions() if a.text() == "&Playback")
    actions = {a.text().replace("&", ""): a for a in play.actions()}
    actions["Zoom in"].trigger()
    assert abs((view.visible_range()[1] - view.visible_range()[0]) - 1.0) < 1e-6
    actions["Fit the clip"].trigger()
    assert view.visible_range() == (0.0, 20.0)


def test_an_empty_labels_box_takes_the_current_models_labels(qtbot, catalog, settings):
    from gui.file.annotate_view import AnnotateView

    catalog.refresh()
    catalog.select(next(e.path for e in catalog.entries if e.path.name == "tones.onnx"))
    view = AnnotateView(catalog, settings, use_audio_device=False)
    qtbot.addWidget(view)
    assert view.labels() == list(catalog.current.meta.labels)
    view.shutdown()


def test_annotated_recordings_are_recent_and_the_last_one_reopens(qtbot, main_window, recording, settings, catalog):
    from gui.main_window import MainWindow

    view = main_window.annotate_view
    _open(qtbot, view, recording)
    view.track.add(1.0, 2.0, "call")
    assert main_window.recent.paths[0] == str(recording.resolve())
    main_window.tabs.setCurrentWidget(main_window.file_view)
    assert main_window.open_path(recording)          # File ▸ Open recent: it has regions, so Annotate
    assert main_window.tabs.currentWidget() is view
    main_window.close()
    again = MainWindow(settings, catalog, use_audio_device=False)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.annotate_view.opened, timeout=10000):
        again.show()
    assert [r.label for r in again.annotate_view.track.regions] == ["call"]
    again.close()


def test_f1_lists_the_annotate_keys_from_the_lanes_own_table(qtbot, main_window):
    from gui.file.region_lane import SUGGESTION_HELP, SUGGESTION_KEYS

    main_window.tabs.setCurrentWidget(main_window.annotate_view)
    dialog = main_window.show_shortcuts()
    qtbot.addWidget(dialog)
    assert dict(dialog.sections["Annotate: suggestions lane"]) == dict(SUGGESTION_KEYS)
    assert "Shift+A: accept every pending suggestion" in SUGGESTION_HELP
    text = dialog.text.toPlainText()
    assert "Annotate: labels lane" in text and "pan a fifth of the view" in text
    redo = dict((what, keys) for keys, what in dialog.sections["Edit"])["Redo"]
    assert "Ctrl+Shift+Z" in redo and "Ctrl+Y" in redo
    dialog.close()


def test_help_opens_the_manual_page_of_the_current_tab(qtbot, main_window, monkeypatch):
    import gui.help as window_module

    opened = []
    monkeypatch.setattr(window_module, "open_url", lambda url: opened.append(url.toLocalFile()) or True)
    main_window.tabs.setCurrentWidget(main_window.annotate_view)
    main_window.manual_action.trigger()
    assert opened and opened[-1].endswith("docs/ANNOTATE.md")
    from pathlib import Path

    assert "Suggestions, then accept or fix them by key" in Path(opened[-1]).read_text()
    if main_window.audit_view is not None:
        main_window.tabs.setCurrentWidget(main_window.audit_view)
        main_window.manual_action.trigger()
        assert opened[-1].endswith("docs/AUDIT.md")


def test_regions_export_to_and_import_from_a_praat_textgrid(qtbot, view, recording, tmp_path):
    _open(qtbot, view, recording)
    view.track.add(4.0, 6.0, "hum")
    view.track.add(5.5, 7.0, "overlap")
    path = tmp_path / "rec.TextGrid"
    assert view.export_labels(path, "textgrid")
    assert "xmax = 20 " in path.read_text()   # the recording's length
    assert _imported(qtbot, view, path) == 0     # the same regions: nothing added twice
    view.track.undo()
    view.track.undo()
    assert _imported(qtbot, view, path) == 2
    assert sorted((r.start_s, r.end_s, r.label) for r in view.track.regions) == [(4.0, 6.0, "hum"),
                                                                             (5.5, 7.0, "overlap")]


@pytest.mark.parametrize("tab", ["annotate_view", "file_view", "audit_view"])
def test_the_view_saves_as_a_png_image_and_an_svg_drawing(qtbot, main_window, recording, tmp_path, tab):
    from PySide6.QtGui import QImage

    view = getattr(main_window, tab)
    if view is None:
        pytest.skip("the Audit tab is not installed")
    main_window.tabs.setCurrentWidget(view)
    if tab == "annotate_view":
        _open(qtbot, view, recording)
    png = main_window.save_view(tmp_path / "view.png")
    image = QImage(str(png))
    assert not image.isNull() and image.width() > 300 and image.height() > 200
    if tab == "annotate_view":   # the plots and lanes, not the buttons
        assert (image.width(), image.height()) == (view.plots.width(), view.plots.height())
        colours = {image.pixel(x, y) for x in range(0, image.width(), 5) for y in range(0, image.height(), 5)}
        assert len(colours) > 20   # drawn plots, not a blank widget
    svg = main_window.save_view(tmp_path / "view.svg")
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    assert main_window.save_view(tmp_path / "view.bmp") is None


def _wheel(widget, pos, steps=1, modifiers=Qt.KeyboardModifier.NoModifier):
    from PySide6.QtCore import QPoint as P
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    local = QPointF(pos)
    event = QWheelEvent(local, QPointF(widget.mapToGlobal(local)), P(0, 0), P(0, 120 * steps),
                        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_ctrl_wheel_and_the_wheel_on_the_frequency_axis_zoom_frequency(qtbot, view, recording):
    from PySide6.QtCore import QPointF

    _open(qtbot, view, recording)
    plot = view.spectrogram
    x_before = view.visible_range()
    assert plot.viewRange()[1] == [0.0, 8000.0]
    at = plot.mapFromScene(plot.box.mapViewToScene(QPointF(10.0, 2000.0)))
    _wheel(plot.viewport(), at, steps=3, modifiers=Qt.KeyboardModifier.ControlModifier)
    low, high = plot.viewRange()[1]
    assert 0 < low < 2000 < high < 8000 and high - low < 0.6 * 8000   # zoomed in around 2 kHz
    assert view.visible_range() == x_before                             # time untouched
    axis = plot.getPlotItem().getAxis("left")
    centre = axis.mapToScene(axis.boundingRect().center())
    _wheel(plot.viewport(), plot.mapFromScene(centre), steps=-2)         # on the axis, without Ctrl: out
    low2, high2 = plot.viewRange()[1]
    assert high2 - low2 > high - low and view.visible_range() == x_before
    view.fit_button.click()
    assert plot.viewRange()[1] == [0.0, 8000.0] and plot.freq_view is None


@pytest.mark.parametrize("keep_pitch", [True, False])
def test_playback_at_half_speed_plays_the_selection_in_twice_the_time(qtbot, view, recording, keep_pitch):
    import time

    _open(qtbot, view, recording)
    assert view.speed_box.currentText() == "1×"
    view.speed_box.setCurrentText("0.5×")
    view.pitch_box.setChecked(keep_pitch)
    view.set_selection((4.0, 5.0))
    positions = []
    view.playback.moved.connect(positions.append)
    started = time.monotonic()
    with qtbot.waitSignal(view.playback.stopped, timeout=10000):
        view.play_button.click()
    took_s = time.monotonic() - started
    assert 1.8 < took_s < 8.0, took_s                       # one second of audio, played at half speed
    assert abs(max(positions) - 5.0) < 0.05 and min(positions) >= 4.0 - 1e-6   # file time, not player time
    assert view.settings.get("annotate/speed") == 0.5 and view.settings.get("annotate/keep_pitch") == keep_pitch


def test_the_overview_strip_shows_where_the_view_is_and_moves_it(qtbot, view, recording):
    from PySide6.QtCore import QPointF

    _open(qtbot, view, recording)
    strip = view.overview
    qtbot.waitUntil(lambda: strip.upper.xData is not None and len(strip.upper.xData) > 100, timeout=10000)
    assert abs(strip.upper.xData[-1] - 20.0) < 0.1            # the whole recording's envelope
    view.zoom_to(5.0, 7.0)
    assert strip.view() == pytest.approx((5.0, 7.0))
    at = strip.mapFromScene(strip.box.mapViewToScene(QPointF(15.0, 0.0)))
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=at)   # a click centres the view there
    centred = view.visible_range()
    assert centred == pytest.approx((14.0, 16.0), abs=0.05)
    _wheel(strip.viewport(), at, steps=-1)                                    # the wheel pans
    assert view.visible_range() == pytest.approx((centred[0] + 0.4, centred[1] + 0.4))
    strip.view_box.setRegion((2.0, 4.0))                                      # as a drag of the box does
    assert view.visible_range() == pytest.approx((2.0, 4.0))


def test_long_recordings_read_their_time_axis_as_a_clock():
    from gui.file.overview import clock

    assert clock(12.5, 60) == "12.5"
    assert clock(1775, 600) == "29:35"
    assert clock(3725, 7200) == "1:02:05"


def test_a_fixed_top_level_keeps_a_quiet_stretch_dark(qtbot, view, recording):
    plot = view.spectrogram
    _open(qtbot, view, recording)
    assert view.top_box.text() == "loudest" and plot.item.levels is not None
    loudest = float(plot.image_db.max())
    assert plot.item.levels[1] == pytest.approx(loudest)
    view.zoom_to(0.0, 3.0)                                 # only the quiet noise before the tone
    qtbot.waitUntil(lambda: plot.data is not None and plot.data.end_s <= 3.0 + 1e-6, timeout=10000)
    assert plot.item.levels[1] < loudest - 20              # "loudest" follows the view: noise drawn bright
    with qtbot.waitSignal(view.range_shown, timeout=10000):
        view.top_box.setValue(0.0)
    assert list(plot.item.levels) == [-80.0, 0.0] and view.settings.get("annotate/db_top") == 0.0


def test_a_log_frequency_axis_spaces_octaves_equally_and_reads_out_hz(qtbot, view, recording):
    from engine.audio.ranges import hz_to_log

    view.axis_box.setCurrentText("log")
    _open(qtbot, view, recording)
    plot = view.spectrogram
    assert plot.viewRange()[1] == pytest.approx([0.0, float(hz_to_log(8000.0))])   # 20 Hz to 8 kHz, in octaves
    assert plot.y_of(640.0) - plot.y_of(320.0) == pytest.approx(plot.y_of(320.0) - plot.y_of(160.0))
    assert plot.freq_of(plot.y_of(300.0)) == pytest.approx(300.0)
    rows = plot.image_db.mean(axis=0)                      # the 300 Hz tone is the loudest row
    loudest_y = (int(np.argmax(rows)) + 0.5) / rows.size * float(hz_to_log(8000.0))
    assert abs(plot.freq_of(loudest_y) - 300.0) < 30
    assert view.settings.get("annotate/freq_axis") == "log"


def test_undo_and_redo_say_what_they_undid(qtbot, view, recording):
    _open(qtbot, view, recording)
    region = view.track.add(4.0, 6.0, "")
    view.track.update(region.id, label="call")
    messages = []
    view.status_message.connect(messages.append)
    view.undo_button.click()
    assert messages[-1].startswith("Undone: label of 'call' (4.000–6.000 s) (")
    view.redo_button.click()
    assert messages[-1] == "Redone: label of 'call' (4.000–6.000 s)"
