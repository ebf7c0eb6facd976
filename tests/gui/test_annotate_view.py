"""Drive the Annotate view: zoom recomputes the spectrogram; regions by mouse and keys land in the sidecar;
suggestions are accepted, rejected and relabelled by key; seek, select, loop and the readout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from engine.annotations.regions import (
    ACCEPTED,
    PENDING,
    REJECTED,
    SUGGESTION,
    Region,
    RegionTrack,
    sidecar_path,
)
from tests.conftest import sine

SR = 16000


@pytest.fixture
def recording(write_wav):
    """20 s: silence, a 300 Hz tone at 4-6 s, a 2 kHz tone at 12-13 s."""
    x = np.zeros(20 * SR, dtype=np.float32)
    x[4 * SR:6 * SR] = sine(300, 2.0, SR)
    x[12 * SR:13 * SR] = sine(2000, 1.0, SR)
    x += 0.001 * np.random.default_rng(0).standard_normal(len(x)).astype(np.float32)
    return write_wav("rec.wav", x, SR)


@pytest.fixture
def view(annotate_view):
    return annotate_view


def _open(qtbot, view, path):
    with qtbot.waitSignal(view.range_shown, timeout=10000) as blocker:
        assert view.open_file(path)
    return blocker.args[0]


def _shown(qtbot, view, start_s, end_s):
    """Wait for the range worker to draw exactly this range."""
    qtbot.waitUntil(lambda: view.spectrogram.data is not None
                    and abs(view.spectrogram.data.start_s - start_s) < 1e-6
                    and abs(view.spectrogram.data.end_s - end_s) < 1e-6, timeout=10000)
    return view.spectrogram.data


def _mouse(widget, kind, pos, buttons=Qt.MouseButton.LeftButton, modifiers=Qt.KeyboardModifier.NoModifier):
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    held = buttons if kind != QEvent.Type.MouseButtonRelease else Qt.MouseButton.NoButton
    local = QPointF(pos)
    event = QMouseEvent(kind, local, widget.mapToGlobal(local), button, held, modifiers)
    QApplication.sendEvent(widget, event)


def _drag(widget, start: QPoint, end: QPoint, steps: int = 6, modifiers=Qt.KeyboardModifier.NoModifier):
    _mouse(widget, QEvent.Type.MouseButtonPress, start, modifiers=modifiers)
    for k in range(1, steps + 1):
        _mouse(widget, QEvent.Type.MouseMove, start + (end - start) * (k / steps), modifiers=modifiers)
    _mouse(widget, QEvent.Type.MouseButtonRelease, end, modifiers=modifiers)


def _x(lane, t):
    return int(round(lane.x_of(t)))


def _on_disk(path):
    """The sidecar as saved: its snapshot with the journal of later changes applied."""
    return RegionTrack.open(path, autosave=False).to_json()


def _history(path):
    return [(c["action"], c.get("via")) for c in _on_disk(path)["history"]]


def test_zooming_from_the_whole_file_to_one_second_recomputes_the_spectrogram(qtbot, view, recording):
    whole = _open(qtbot, view, recording)
    assert (whole.start_s, whole.end_s) == (0.0, 20.0)
    columns = int(view.spectrogram.box.sceneBoundingRect().width())
    assert abs(whole.n_columns - columns) <= 1  # screen resolution
    view.zoom_to(12.0, 13.0)
    second = _shown(qtbot, view, 12.0, 13.0)
    assert second.n_columns == whole.n_columns and second.column_s < whole.column_s / 15
    image = view.spectrogram.item.image
    assert image.shape == second.db.shape
    freqs = second.freqs_hz()
    assert np.all(np.abs(freqs[image[5:-5].argmax(axis=1)] - 2000) < 30)  # the tone fills the zoomed view
    rect = view.spectrogram.item.mapRectToParent(view.spectrogram.item.boundingRect())
    assert abs(rect.left() - 12.0) < 1e-6 and abs(rect.width() - 1.0) < 1e-6
    view.fft_box.setCurrentText("256")  # a setting changes the drawing and is remembered
    qtbot.waitUntil(lambda: view.spectrogram.data.n_fft == 256, timeout=10000)
    assert view.spectrogram.item.image.shape[1] == 129 and view.settings.get("annotate/n_fft") == 256


def test_a_mel_axis_draws_rows_equally_spaced_in_mel_and_reads_out_hz(qtbot, view, recording, every_mouse_move):
    from engine.audio.mel import hz_to_mel

    _open(qtbot, view, recording)
    view.zoom_to(4.5, 5.5)  # inside the 300 Hz tone
    _shown(qtbot, view, 4.5, 5.5)
    view.axis_box.setCurrentText("mel")
    qtbot.waitUntil(lambda: view.spectrogram.item.image.shape[1] == 256, timeout=10000)
    image = view.spectrogram.item.image
    top_mel = float(hz_to_mel(SR / 2))
    loudest_row = int(np.median(image.argmax(axis=1)))
    assert abs(loudest_row / 255 * top_mel - float(hz_to_mel(300))) < top_mel / 255 * 2
    rect = view.spectrogram.item.mapRectToParent(view.spectrogram.item.boundingRect())
    assert abs(rect.height() - top_mel) < 1e-3 and view.settings.get("annotate/freq_axis") == "mel"
    plot, box = view.spectrogram, view.spectrogram.box
    qtbot.mouseMove(plot.viewport(), plot.mapFromScene(box.mapViewToScene(QPointF(5.0, float(hz_to_mel(300))))))
    freq = float(view.readout.text().split("·")[1].split("Hz")[0])
    assert abs(freq - 300) < 15


def test_regions_by_mouse_and_keys_and_the_sidecar_says_exactly_what_was_done(qtbot, view, recording):
    _open(qtbot, view, recording)
    view.labels_edit.setText("song, call, noise")
    view.labels_edit.editingFinished.emit()
    lane = view.label_lane
    y = lane.height() // 2
    _drag(lane, QPoint(_x(lane, 4.0), y), QPoint(_x(lane, 6.0), y))  # create by drag
    (region,) = view.track.regions
    assert abs(region.start_s - 4.0) < 0.05 and abs(region.end_s - 6.0) < 0.05 and region.label == ""
    assert lane.selected_id == region.id
    qtbot.keyClick(lane, Qt.Key.Key_2)  # label by digit
    assert view.track.get(region.id).label == "call"
    qtbot.keyClick(lane, Qt.Key.Key_S)  # by first letter
    assert view.track.get(region.id).label == "song"
    _drag(lane, QPoint(_x(lane, region.end_s), y), QPoint(_x(lane, 7.0), y))  # resize the end edge
    resized = view.track.get(region.id)
    assert abs(resized.end_s - 7.0) < 0.05 and resized.start_s == region.start_s
    _drag(lane, QPoint(_x(lane, 5.5), y), QPoint(_x(lane, 6.5), y))  # move by the inside
    moved = view.track.get(region.id)
    assert abs(moved.start_s - (resized.start_s + 1.0)) < 0.05 and abs(moved.duration_s - resized.duration_s) < 1e-9
    view.set_selection((12.0, 13.0))  # create by key from a selection
    qtbot.keyClick(lane, Qt.Key.Key_N)
    created = view.track.get(lane.selected_id)
    assert (created.start_s, created.end_s) == (12.0, 13.0)
    menu = None
    qtbot.keyClick(lane, Qt.Key.Key_Return)  # label by picker
    menu = lane.picker
    qtbot.waitUntil(menu.isVisible, timeout=3000)
    next(a for a in menu.actions() if a.text().endswith("noise")).trigger()
    menu.close()
    assert view.track.get(created.id).label == "noise"
    assert view.note_edit.isEnabled() and view.note_edit.text() == ""  # a note on the selected region
    view.note_edit.setText("two calls overlapping")
    view.note_edit.editingFinished.emit()
    assert view.track.get(created.id).note == "two calls overlapping"
    lane.setFocus()
    qtbot.keyClick(lane, Qt.Key.Key_Delete)
    assert [r.id for r in view.track.regions] == [region.id]
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the delete
    assert view.track.get(created.id).label == "noise"

    doc = _on_disk(recording)
    assert _history(recording) == [("add", None), ("label", None), ("label", None), ("update", None),
                                   ("update", None), ("add", None), ("label", None), ("update", None),
                                   ("remove", None), ("remove", "undo")]
    labels = [c["after"][0]["label"] for c in doc["history"] if c["action"] == "label"]
    assert labels == ["call", "song", "noise"]
    assert sorted((r["label"], round(r["start_s"], 6)) for r in doc["regions"]) == [
        ("noise", 12.0), ("song", round(moved.start_s, 6))]
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert _history(recording)[-1] == ("remove", "redo") and len(view.track.regions) == 1
    assert doc["history"][-3]["after"][0]["note"] == "two calls overlapping"


def test_suggestions_are_accepted_rejected_and_relabelled_by_key(qtbot, view, recording, catalog):
    catalog.refresh()
    catalog.select(next(e.path for e in catalog.entries if e.path.name == "tones.onnx"))
    _open(qtbot, view, recording)
    mine = view.track.add(4.0, 6.0, "tone_300hz")  # a person's region where the 300 Hz tone is
    view.confidence_box.setValue(0.9)
    with qtbot.waitSignal(view.suggested, timeout=20000) as blocker:
        view.suggest()
    assert blocker.args[0] >= 1
    pending = view.track.suggestions(PENDING)
    assert [r.label for r in pending] == ["tone_2000hz"]  # the 300 Hz one is already the person's
    lane = view.suggestion_lane
    assert lane.selected_id == pending[0].id
    lane.setFocus()
    qtbot.keyClick(lane, Qt.Key.Key_A)
    assert view.track.get(pending[0].id).state == ACCEPTED
    # two more suggestions, by hand: reject one, relabel-accept the other
    view.track.suggest([Region(8.0, 9.0, "tone_600hz"), Region(15.0, 16.0, "tone_1000hz")])
    lane.select_next()
    first = lane.selected_id
    qtbot.keyClick(lane, Qt.Key.Key_R)
    second = lane.selected_id
    assert second != first
    view.labels_edit.setText("tone_300hz, tone_2000hz, bird")
    view.labels_edit.editingFinished.emit()
    qtbot.keyClick(lane, Qt.Key.Key_B)  # accept as "bird"
    states = {r.id: (r.source, r.state, r.label) for r in view.track.regions}
    assert states[first] == (SUGGESTION, REJECTED, "tone_600hz")
    assert states[second] == (SUGGESTION, ACCEPTED, "bird")
    assert states[mine.id][1:] == (ACCEPTED, "tone_300hz")
    # suggesting again never overwrites what was accepted or rejected
    with qtbot.waitSignal(view.suggested, timeout=20000):
        view.suggest()
    again = {r.id: (r.state, r.label) for r in view.track.regions}
    assert again[first] == (REJECTED, "tone_600hz") and again[second] == (ACCEPTED, "bird")
    assert again[mine.id] == (ACCEPTED, "tone_300hz") and again[pending[0].id] == (ACCEPTED, "tone_2000hz")
    assert view.track.suggestions(PENDING) == []  # the model's two finds are both taken already
    doc = _on_disk(recording)
    assert [c["action"] for c in doc["history"]].count("accept") == 2
    assert [c["action"] for c in doc["history"]].count("reject") == 1


@pytest.fixture
def every_mouse_move():
    """pyqtgraph drops mouse moves closer than 10 ms apart; a test's moves are all meant."""
    import pyqtgraph as pg

    old = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOptions(mouseRateLimit=-1)
    yield
    pg.setConfigOptions(mouseRateLimit=old)


def test_click_seeks_drag_selects_and_the_readout_follows_the_mouse(qtbot, view, recording, every_mouse_move):
    _open(qtbot, view, recording)
    plot = view.spectrogram
    box = plot.box

    def at(t, f):
        return plot.mapFromScene(box.mapViewToScene(QPointF(t, f)))

    viewport = plot.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=at(10.0, 1000.0))
    assert abs(view.playback.position_s - 10.0) < 0.05 and abs(plot.cursor.value() - 10.0) < 0.05
    _drag(viewport, at(4.0, 1000.0), at(6.0, 1000.0), steps=8)
    assert view.selection is not None
    assert abs(view.selection[0] - 4.0) < 0.05 and abs(view.selection[1] - 6.0) < 0.05
    assert view.label_lane.selection == view.selection and plot.selection.isVisible()
    qtbot.mouseMove(viewport, at(5.0, 300.0))
    text = view.readout.text()
    assert abs(float(text.split(" s")[0]) - 5.0) < 0.02
    vertical, horizontal = plot.crosshair  # a crosshair under the mouse
    assert vertical.isVisible() and abs(vertical.value() - 5.0) < 0.02 and abs(horizontal.value() - 300) < 20 and " Hz" in text and "dB" in text
    level = float(text.split("·")[2].strip().split()[0])
    # Ctrl+drag on the spectrogram selects a box; N on the label lane makes a region with that band
    _drag(viewport, at(12.2, 1500.0), at(12.8, 2500.0), steps=8, modifiers=Qt.KeyboardModifier.ControlModifier)
    assert view.selection_band is not None and view.spectrogram.band_box.isVisible()
    assert abs(view.selection_band[0] - 1500) < 30 and abs(view.selection_band[1] - 2500) < 30
    view.label_lane.setFocus()
    qtbot.keyClick(view.label_lane, Qt.Key.Key_N)
    boxed = view.track.get(view.label_lane.selected_id)
    assert boxed.has_band and abs(boxed.low_hz - 1500) < 30 and abs(boxed.start_s - 12.2) < 0.05
    outline = next(i for i in view.overlay.items if i.data(0) == boxed.id)  # drawn as its box
    assert abs(outline.rect().top() - boxed.low_hz) < 1e-6 and abs(outline.rect().height() - 1000) < 60
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=at(1.0, 500.0))  # a click clears the selection
    assert view.selection is None and not plot.band_box.isVisible() and abs(view.playback.position_s - 1.0) < 0.05
    qtbot.mouseMove(viewport, at(9.0, 300.0))
    quiet = float(view.readout.text().split("·")[2].strip().split()[0])
    assert level > quiet + 30  # the 300 Hz tone reads louder than the silence


def test_play_plays_the_selection_loop_repeats_it_and_follow_pages_the_view(qtbot, view, recording):
    _open(qtbot, view, recording)
    view.set_selection((2.0, 2.2))  # without loop: the selection once, then stop at its end
    with qtbot.waitSignal(view.playback.stopped, timeout=5000):
        view.playback.play()
    assert 2.15 <= view.playback.position_s <= 2.2 + 1e-6 and not view.playback.playing
    view.set_selection((4.0, 4.3))
    view.loop_box.setChecked(True)
    view.playback.play()
    positions = []
    view.playback.moved.connect(positions.append)
    qtbot.waitUntil(lambda: len(positions) > 3 and min(positions[2:]) < max(positions) - 0.1
                    and positions.index(max(positions)) < len(positions) - 1, timeout=5000)
    assert all(3.99 <= p <= 4.31 for p in positions)  # never outside the loop
    view.playback.pause()
    view.loop_box.setChecked(False)
    view.zoom_to(0.0, 1.0)
    view.playback.seek(0.9)
    view.playback.play()
    qtbot.waitUntil(lambda: view.visible_range()[0] >= 1.0, timeout=5000)  # paged along
    view.playback.pause()


def test_a_recording_too_long_for_the_file_tab_opens_in_the_annotate_tab(qtbot, main_window, tmp_path):
    from tests.helpers_longwav import write_long_wav

    long = write_long_wav(tmp_path / "night.wav", 3600, sample_rate_hz=8000, channels=1)
    with qtbot.waitSignal(main_window.annotate_view.range_shown, timeout=10000):
        main_window.file_view.open_file(long)
    assert main_window.tabs.currentWidget() is main_window.annotate_view
    assert main_window.annotate_view.audio.duration_s == 3600
    assert "Annotate tab" in main_window.file_view.error_label.text()


def test_make_data_set_cuts_every_annotated_recording_in_the_folder(qtbot, view, write_wav, tmp_path):
    import csv

    from tests.helpers_regions import annotated_recordings

    audio, labels = annotated_recordings(write_wav, tmp_path, n=3)
    from engine.annotations.formats import read_regions
    from engine.annotations.regions import RegionTrack

    for path, label_file in zip(audio, labels, strict=True):  # annotate each as the view would
        track = RegionTrack.open(path)
        track.replace_all(read_regions(label_file)[None])
    _open(qtbot, view, audio[0])
    with qtbot.waitSignal(view.dataset_made, timeout=20000) as blocker:
        view.make_dataset(tmp_path / "ds")
    result = blocker.args[0]
    rows = list(csv.DictReader(open(result.csv_path, newline="")))
    assert {r["group"] for r in rows} == {"site0", "site1", "site2"}
    assert {r["label"] for r in rows} == {"low", "high", "background"}


def test_labels_import_onto_the_track_and_export_in_each_format(qtbot, view, recording, tmp_path):
    from engine.annotations.formats import read_regions

    _open(qtbot, view, recording)
    audacity = tmp_path / "from_audacity.txt"
    audacity.write_text("4.000000\t6.000000\tlow hum\n\\\t200.000000\t400.000000\n12.0\t13.0\twhistle\n")
    with qtbot.waitSignal(view.labels_imported, timeout=20000) as blocker:
        view.import_labels(audacity)
    assert blocker.args == [2]
    assert [(r.label, r.low_hz) for r in view.label_lane.visible_regions()] == [("low hum", 200.0), ("whistle", None)]
    assert view.labels()[-2:] == ["low hum", "whistle"]  # the labels a key can give
    assert len(view.overlay.items) == 2
    for fmt in ("audacity", "raven", "csv"):
        out = tmp_path / f"out.{fmt}"
        assert view.export_labels(out, fmt)
        regions = read_regions(out, fmt)[None]
        assert [(r.start_s, r.end_s, r.label) for r in regions] == [(4.0, 6.0, "low hum"), (12.0, 13.0, "whistle")]
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the import is one undoable change
    assert view.track.regions == []


def test_space_plays_and_pauses_in_the_annotate_tab(qtbot, main_window, recording):
    view = main_window.annotate_view
    main_window.tabs.setCurrentWidget(view)
    _open(qtbot, view, recording)
    with qtbot.waitSignal(view.playback.started, timeout=3000):
        main_window.play_action.trigger()
    with qtbot.waitSignal(view.playback.stopped, timeout=3000):
        main_window.play_action.trigger()
    assert not view.playback.playing and view.play_button.text() == "Play"


def test_suggestions_show_progress_and_the_button_cancels_them(qtbot, view, catalog, tmp_path):
    from tests.helpers_longwav import write_long_wav

    catalog.refresh()
    catalog.select(next(e.path for e in catalog.entries if e.path.name == "tones.onnx"))
    long = write_long_wav(tmp_path / "night.wav", 4 * 3600, sample_rate_hz=SR, channels=1)
    _open(qtbot, view, long)
    with qtbot.waitSignal(view.status_message, timeout=10000,
                          check_params_cb=lambda m: m.endswith("%") and "Suggesting" in m):
        view.suggest_button.click()
    assert view.suggest_button.text() == "Cancel"
    worker = view.suggest_worker
    with qtbot.waitSignal(worker.cancelled, timeout=10000):
        view.suggest_button.click()
    qtbot.waitUntil(lambda: view.suggest_worker is None, timeout=5000)
    assert view.suggest_button.text() == "Suggest" and view.track.regions == []
    assert not sidecar_path(long).exists()  # nothing was changed, nothing saved


def test_a_long_file_name_and_a_long_message_never_widen_the_window(qtbot, main_window, write_wav):
    from PySide6.QtWidgets import QApplication

    view = main_window.annotate_view
    main_window.tabs.setCurrentWidget(view)
    QApplication.processEvents()
    before = main_window.minimumSizeHint().width()
    long_name = write_wav("a dawn chorus recorded at the far end of the long meadow, " * 3 + "take 3.wav",
                          sine(440, 1.0))
    _open(qtbot, view, long_name)
    view.readout.setText("an error message naming a long path " * 8)
    QApplication.processEvents()
    assert long_name.name in view.file_label.text()  # kept whole, drawn elided
    assert main_window.minimumSizeHint().width() <= max(before, 1366)


def test_make_data_set_offers_a_new_folder_never_the_recordings_own(qtbot, view, recording, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    _open(qtbot, view, recording)
    offered = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (offered.append(a[2]), ("", ""))[1])
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: (offered.append(a[2]), "")[1])
    view.dataset_dialog()
    (folder,) = offered
    assert Path(folder).parent == recording.parent and Path(folder) != recording.parent
    assert not Path(folder).exists()


def test_the_export_dialog_never_offers_a_file_that_exists(qtbot, view, recording, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    mine = recording.with_suffix(".txt")
    mine.write_text("1\t2\tmy own label\n")  # a person's Audacity labels beside the recording
    _open(qtbot, view, recording)
    offered = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (offered.append(a[2]), ("", ""))[1])
    view.export_dialog()
    (default,) = offered
    assert Path(default).parent == recording.parent and not Path(default).exists()
    assert mine.read_text() == "1\t2\tmy own label\n"
