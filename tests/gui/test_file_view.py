"""Drive the File tab of the real main window: open, see, classify, play, export."""

from __future__ import annotations

import csv

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent


def _open(qtbot, window, path):
    view = window.file_view
    with qtbot.waitSignal(view.classified, timeout=10000) as blocker:
        view.open_file(path)
    return view, blocker.args[0]


def test_open_shows_waveform_spectrogram_and_classifies_with_a_real_model(qtbot, main_window, two_tone_wav, tmp_path):
    view, predictions = _open(qtbot, main_window, two_tone_wav)
    x, y = view.waveform.curve.getData()
    assert len(x) > 0 and np.isclose(x.max(), 6.0, atol=0.01)  # whole clip, in seconds
    assert 0.45 < float(np.max(np.abs(view.audio.samples))) < 0.55
    image = view.spectrogram.item.image
    assert image.shape[1] == 257 and image.shape[0] > 100
    freqs = np.fft.rfftfreq(512, 1 / 16000)
    first, last = image[10], image[-10]
    assert abs(freqs[np.argmax(first)] - 300) < 40 and abs(freqs[np.argmax(last)] - 2000) < 40
    assert {label for label, _ in predictions.top(2)} == {"tone_300hz", "tone_2000hz"}
    assert set(view.bars.labels()[:2]) == {"tone_300hz", "tone_2000hz"}
    windows = [predictions.labels[i] for i in predictions.window_probs.argmax(axis=1)]
    assert windows[0] == "tone_300hz" and windows[-1] == "tone_2000hz"
    assert view.timeline.item.image.shape == predictions.window_probs.shape
    assert "two_tones.wav" in view.file_label.text()

    out = tmp_path / "predictions.csv"
    assert view.export_csv(out)
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == len(predictions.starts_s) and rows[0]["top_label"] == "tone_300hz"
    assert rows[-1]["top_label"] == "tone_2000hz" and "tone_600hz" in rows[0]


def test_zoom_keeps_waveform_spectrogram_and_timeline_in_step(qtbot, main_window, two_tone_wav):
    view, _ = _open(qtbot, main_window, two_tone_wav)
    view.zoom(0.25)
    (x0, x1), _ = view.waveform.viewRange()
    assert np.isclose(x1 - x0, 1.5, atol=0.05)
    for plot in (view.spectrogram, view.timeline):
        assert np.allclose(plot.viewRange()[0], (x0, x1), atol=1e-6)
    view.spectrogram.setXRange(4.0, 5.0, padding=0)  # pan in one, the others follow
    assert np.allclose(view.waveform.viewRange()[0], (4.0, 5.0), atol=1e-6)
    view.zoom_fit()
    assert np.allclose(view.timeline.viewRange()[0], (0.0, 6.0), atol=1e-6)


def test_play_moves_the_cursor_and_stop_returns_it(qtbot, main_window, two_tone_wav):
    view, _ = _open(qtbot, main_window, two_tone_wav)
    notices = []
    view.player.noticed.connect(notices.append)
    main_window.tabs.setCurrentWidget(view)
    with qtbot.waitSignal(view.player.started, timeout=2000):
        main_window.play_action.trigger()  # Space
    qtbot.waitUntil(lambda: view.cursors[1].value() > 0.1, timeout=3000)
    assert view.play_button.text() == "Pause"
    assert all(line.value() == view.cursors[0].value() for line in view.cursors)
    with qtbot.waitSignal(view.player.stopped, timeout=2000):
        main_window.play_action.trigger()  # Space again: pause
    paused_at = view.player.position_s
    assert paused_at > 0.1 and not view.player.playing
    view.stop_button.click()
    assert view.cursors[0].value() == 0.0 and view.play_button.text() == "Play"
    assert main_window.play_action.shortcut().toString() == "Space"


def test_no_output_device_is_said_and_playback_still_runs(qtbot, catalog, settings, two_tone_wav):
    from gui.file_view import FileView

    view = FileView(catalog, settings, use_audio_device=True)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.loaded, timeout=10000):
        view.open_file(two_tone_wav)
    messages = []
    view.status_message.connect(messages.append)
    view.player.play()
    qtbot.waitUntil(lambda: view.player.position_s > 0.05, timeout=3000)
    view.player.stop()
    if view.player.use_device and messages:
        assert any("output device" in m or "PortAudio" in m for m in messages)
    view.shutdown()


def test_drag_and_drop_opens_a_file(qtbot, main_window, two_tone_wav):
    view = main_window.file_view
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(two_tone_wav))])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(view.loaded, timeout=10000):
        view.dropEvent(event)
    assert view.audio.path == two_tone_wav


def test_a_corrupt_file_says_so_and_the_app_keeps_running(qtbot, main_window, tmp_path, two_tone_wav):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage that is not audio")
    view = main_window.file_view
    with qtbot.waitSignal(view.failed, timeout=10000) as blocker:
        view.open_file(bad)
    assert "broken.wav" in blocker.args[0]
    assert "broken.wav" in view.error_label.text()
    assert "broken.wav" in main_window.statusBar().currentMessage()
    _open(qtbot, main_window, two_tone_wav)  # and it still works
    assert view.error_label.text() == ""


def test_a_slow_older_file_never_replaces_the_newer_one(qtbot, main_window, write_wav, two_tone_wav):
    view = main_window.file_view
    other = write_wav("other.wav", np.zeros(1600, dtype=np.float32) + 0.1)
    view.open_file(two_tone_wav)
    with qtbot.waitSignal(view.loaded, timeout=10000) as blocker:
        view.open_file(other)  # opened second: only this one may be shown
    qtbot.waitUntil(lambda: not view._workers, timeout=10000)  # the older task has finished too
    assert blocker.args[0].path == other and view.audio.path == other


def test_export_failure_is_shown(qtbot, main_window, two_tone_wav, tmp_path):
    view, _ = _open(qtbot, main_window, two_tone_wav)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert not view.export_csv(blocker / "sub" / "out.csv")
    assert "out.csv" in view.error_label.text()


def test_the_export_dialog_never_offers_a_file_that_exists(qtbot, main_window, two_tone_wav, monkeypatch):
    """The File tab's export offers a free name beside the last folder; a person's file there is untouched."""
    from pathlib import Path

    from PySide6.QtWidgets import QFileDialog

    view, _ = _open(qtbot, main_window, two_tone_wav)
    folder = Path(main_window.settings.get("file/last_dir"))
    mine = folder / f"{two_tone_wav.stem}-predictions.csv"
    mine.write_text("my own notes\n")
    offered = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (offered.append(a[2]), ("", ""))[1])
    view.export_dialog()
    (default,) = offered
    assert Path(default).parent == folder and not Path(default).exists() and Path(default) != mine
    assert mine.read_text() == "my own notes\n"
