"""The app shell: View menu, Open data set, keyboard-shortcut help, recent files, the formats the
open dialog offers, ``earmark FILE``, the log file the error dialog names, the window icon."""

from __future__ import annotations

import logging
import sys
import threading

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QFileDialog

from engine.datasets.synth import write_emodb
from tests.conftest import sine


@pytest.fixture
def log_dir(tmp_path, monkeypatch):
    """Logs go to tmp_path/logs; the root logger's handlers are put back afterwards."""
    folder = tmp_path / "logs"
    monkeypatch.setenv("EARMARK_LOG_DIR", str(folder))
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield folder
    for handler in [h for h in root.handlers if h not in before]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


@pytest.fixture
def app_start(qtbot, tmp_path, monkeypatch, model_dir, log_dir):
    """``gui.app.start`` with settings, models and logs in tmp (no event loop, see test_main_window)."""
    from gui import app as app_module

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    monkeypatch.setenv("EARMARK_USER_MODELS", str(model_dir))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    windows = []

    def start(paths=None):
        window = app_module.start([], paths)
        qtbot.addWidget(window)
        windows.append(window)
        return window

    yield start
    for window in windows:
        window.close()


def test_the_view_menu_brings_a_closed_dock_back(qtbot, main_window):
    dock = main_window.models_dock
    dock.close()
    assert not dock.isVisible() and not main_window.models_dock_action.isChecked()
    main_window.models_dock_action.trigger()
    assert dock.isVisible()
    view_menu = next(a.menu() for a in main_window.menuBar().actions() if a.text() == "&View")
    assert main_window.models_dock_action in view_menu.actions()
    tab_actions = [a for a in view_menu.actions() if a.text().endswith("tab")]
    tab_actions[1].trigger()
    assert main_window.tabs.currentWidget() is main_window.file_view


def test_open_data_set_from_the_file_menu(qtbot, main_window, tmp_path, monkeypatch):
    if main_window.audit_view is None:
        pytest.skip("the Audit tab is not installed")
    root = write_emodb(tmp_path / "emo", n_speakers=1, sentences_per_speaker=1, seconds=0.3, sample_rate_hz=8000)
    started_in = []

    def dialog(parent, caption, folder="", *args):
        started_in.append(folder)
        return str(root)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", dialog)
    audit = main_window.audit_view
    with qtbot.waitSignal(audit.opened, timeout=20000) as blocker:
        main_window.open_dataset_action.trigger()
    assert main_window.tabs.currentWidget() is audit and audit.session.is_open
    assert len(blocker.args[0].clips) == 7
    assert main_window.recent.paths[0] == str(root.resolve())
    with qtbot.waitSignal(audit.opened, timeout=20000):
        main_window.open_dataset_action.trigger()  # the dialog starts where the last data set was
    assert started_in[-1] == str(root.parent)
    index = audit.proxy.index(0, 1)
    assert audit.table.textElideMode() == Qt.TextElideMode.ElideLeft  # narrow: "…03a01Wa.wav", not "wav/…"
    assert not audit.table.wordWrap()
    assert index.data().endswith(".wav")


def test_keyboard_shortcut_help_lists_the_keys(qtbot, main_window):
    keys = [s.toString() for s in main_window.shortcuts_action.shortcuts()]
    assert keys == ["F1", "Ctrl+/"]
    dialog = main_window.show_shortcuts()
    qtbot.addWidget(dialog)
    file_rows = dict((text, key) for key, text in dialog.sections["File"])
    assert file_rows["Open audio…"] == "Ctrl+O" and file_rows["Open data set…"] == "Ctrl+D"
    text = dialog.text.toPlainText()
    assert "Keyboard shortcuts" in text and "F1" in text and "Start/stop listening" in text
    assert "Audit table" in text and "flag as doubtful" in text
    dialog.close()


def test_f1_opens_the_shortcut_help(qtbot, main_window):
    from gui.widgets.shortcuts_dialog import ShortcutsDialog

    main_window.activateWindow()
    qtbot.waitUntil(main_window.isActiveWindow, timeout=3000)
    qtbot.keyClick(main_window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: any(d.isVisible() for d in main_window.findChildren(ShortcutsDialog)), timeout=3000)
    for dialog in main_window.findChildren(ShortcutsDialog):
        dialog.close()


def test_recent_files_are_remembered_and_reopen(qtbot, settings, catalog, write_wav, tmp_path):
    from gui.main_window import MainWindow

    first_wav, second_wav = write_wav("first.wav", sine(300, 0.5)), write_wav("second.wav", sine(900, 0.5))
    window = MainWindow(settings, catalog, use_audio_device=False)
    qtbot.addWidget(window)
    for wav in (first_wav, second_wav):
        with qtbot.waitSignal(window.file_view.loaded, timeout=10000):
            window.open_path(wav)
    assert window.recent.paths == [str(second_wav.resolve()), str(first_wav.resolve())]
    window.close()

    again = MainWindow(settings, catalog, use_audio_device=False)
    qtbot.addWidget(again)
    entries = [a for a in again.recent_menu.actions() if a.data()]
    assert [a.data() for a in entries] == [str(second_wav.resolve()), str(first_wav.resolve())]
    assert "second.wav" in entries[0].text()
    with qtbot.waitSignal(again.file_view.loaded, timeout=10000) as blocker:
        entries[1].trigger()
    assert blocker.args[0].path.name == "first.wav"
    assert again.recent.paths[0] == str(first_wav.resolve())  # moved to the top

    first_wav.unlink()
    assert not again.open_path(first_wav)
    assert str(first_wav.resolve()) not in again.recent.paths
    assert "no such file" in again.statusBar().currentMessage()
    again.close()


def test_the_open_dialog_offers_mp3_and_aiff_and_they_open(qtbot, main_window, tmp_path, monkeypatch):
    from gui.file_view import AUDIO_FILTER

    for pattern in ("*.mp3", "*.aiff", "*.aif", "*.wav", "*.flac"):
        assert pattern in AUDIO_FILTER
    offered = []

    def fake_dialog(parent, caption, folder, filters):
        offered.append(filters)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", fake_dialog)
    main_window.open_action.trigger()
    assert offered and "*.mp3" in offered[0] and "*.aiff" in offered[0]
    tone = sine(440, 1.0)
    for name, fmt in (("speech.mp3", "MP3"), ("speech.aiff", "AIFF")):
        path = tmp_path / name
        sf.write(path, tone, 16000, format=fmt)
        with qtbot.waitSignal(main_window.file_view.loaded, timeout=10000) as blocker:
            main_window.open_path(path)
        assert abs(blocker.args[0].duration_s - 1.0) < 0.1


def test_the_command_line_opens_a_file(qtbot, app_start, write_wav):
    wav = write_wav("given.wav", sine(440, 0.5))
    window = app_start([str(wav)])
    qtbot.waitUntil(lambda: window.file_view.audio is not None, timeout=10000)
    assert window.tabs.currentWidget() is window.file_view
    assert window.file_view.audio.path.name == "given.wav"


def test_main_tells_paths_from_commands(capsys, tmp_path):
    import main

    parser = main.build_parser()
    assert main._paths_to_open(parser, ["classify", "m.onnx", "a.wav"]) is None
    assert main._paths_to_open(parser, ["--self-test"]) is None
    assert main._paths_to_open(parser, []) is None
    assert main._paths_to_open(parser, ["a.wav", "b.wav"]) == ["a.wav", "b.wav"]
    assert main.main([str(tmp_path / "missing.wav")]) == 2
    assert "missing.wav" in capsys.readouterr().err


def test_errors_go_to_a_log_file_that_the_dialog_names(qtbot, app_start, log_dir):
    from gui.app import LOG_NAME

    window = app_start()
    reporter = window.reporter
    path = log_dir / LOG_NAME
    assert reporter.log_path == path and path.is_file()
    try:
        raise ValueError("a broken thing")
    except ValueError as exc:
        reporter.handle(type(exc), exc, exc.__traceback__)
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = path.read_text()
    assert "ValueError: a broken thing" in text and "Traceback" in text
    message = reporter.message(ValueError, ValueError("a broken thing"))
    assert str(path) in message
    qtbot.waitUntil(lambda: reporter._box is not None and reporter._box.isVisible(), timeout=3000)
    assert str(path) in reporter._box.text()
    reporter._box.close()


def test_no_log_folder_says_so_instead_of_naming_a_file(tmp_path, log_dir, monkeypatch):
    from gui.app import ErrorReporter, setup_logging

    blocker = tmp_path / "a file"
    blocker.write_text("x")
    monkeypatch.setenv("EARMARK_LOG_DIR", str(blocker / "logs"))
    assert setup_logging() is None
    assert "no log file" in ErrorReporter(None).message(RuntimeError, RuntimeError("x"))


def test_the_window_has_the_earmark_icon(qtbot, app_start):
    from gui.app import app_icon

    assert not app_icon().isNull()
    window = app_start()
    assert not window.windowIcon().isNull()
    image = window.windowIcon().pixmap(32, 32).toImage()
    assert len({image.pixel(x, y) for x in range(0, 32, 4) for y in range(0, 32, 4)}) > 2


def test_recent_paths_survive_a_bad_setting(settings):
    from gui.widgets.recent_menu import MAX_RECENT, RecentPaths

    settings.set("file/recent", "not json")
    recent = RecentPaths(settings)
    assert recent.paths == []
    for i in range(MAX_RECENT + 3):
        recent.add(f"/tmp/f{i}.wav")
    assert len(recent.paths) == MAX_RECENT and recent.paths[0] == "/tmp/f10.wav"
    assert np.all([p.startswith("/tmp/f") for p in RecentPaths(settings).paths])


def test_the_last_data_set_opens_again_in_the_next_run(qtbot, settings, catalog, tmp_path):
    from gui.main_window import MainWindow

    root = write_emodb(tmp_path / "emo", n_speakers=1, sentences_per_speaker=1, seconds=0.3, sample_rate_hz=8000)
    first = MainWindow(settings, catalog, use_audio_device=False)
    qtbot.addWidget(first)
    if first.audit_view is None:
        pytest.skip("the Audit tab is not installed")
    with qtbot.waitSignal(first.audit_view.opened, timeout=10000):
        first.audit_view.open_dataset(root, "emodb")
    first.close()
    again = MainWindow(settings, catalog, use_audio_device=False)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.audit_view.opened, timeout=10000) as blocker:
        pass  # opened by the window itself, once it shows
    assert str(blocker.args[0].root) == str(root) and len(blocker.args[0].clips) == 7
    again.close()

    settings.set("audit/last_data_set", str(tmp_path / "gone"))
    third = MainWindow(settings, catalog, use_audio_device=False)
    qtbot.addWidget(third)
    qtbot.waitUntil(lambda: "is gone" in third.statusBar().currentMessage(), timeout=5000)
    assert settings.get("audit/last_data_set") == ""
    third.close()
