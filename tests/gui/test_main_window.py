"""The main window as a whole: models panel, menus, settings, about box, optional tabs."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QMessageBox

from tests.conftest import sine


def test_models_panel_lists_models_with_metadata_and_reasons(qtbot, main_window):
    panel = main_window.models_panel
    names = [panel.list.item(i).text() for i in range(panel.list.count())]
    assert len(names) == 2 and "tones" in names[0] and "zz_no_metadata" in names[1]
    assert main_window.catalog.current.name == "tones"
    assert "Model: tones" in main_window.model_status.text()
    html = panel.details.toPlainText()
    assert "tone_300hz" in html and "Training data" in html and "accuracy" in html
    panel.list.setCurrentRow(1)
    text = panel.details.toPlainText()
    assert "Cannot be used" in text and "no Earmark metadata" in text and "zz_no_metadata.onnx" in text
    assert not panel.use_button.isEnabled()
    messages = []
    panel.status_message.connect(messages.append)
    panel.use_selected()
    assert main_window.catalog.current.name == "tones"  # refused; nothing changed


def test_switching_models_reclassifies_the_open_file(qtbot, main_window, write_wav, tmp_path):
    from tests.helpers_onnx import write_tone_model

    path = write_wav("a.wav", sine(1000, 1.5))
    view = main_window.file_view
    with qtbot.waitSignal(view.classified, timeout=10000):
        view.open_file(path)
    other = write_tone_model(tmp_path / "three.onnx", tones_hz=(500, 1000, 1500))
    with qtbot.waitSignal(view.classified, timeout=10000) as blocker:
        main_window.models_panel.add_model(other)
    assert blocker.args[0].model_name == "three" and blocker.args[0].labels == ["tone_500hz", "tone_1000hz", "tone_1500hz"]
    assert view.bars.labels()[0] == "tone_1000hz"


def test_settings_are_remembered_between_runs(qtbot, settings, catalog):
    from gui.main_window import MainWindow

    first = MainWindow(settings, catalog, use_audio_device=False)
    qtbot.addWidget(first)
    first.live_view.hop_spin.setValue(0.3)
    first.live_view.gate_spin.setValue(-42.0)
    first.tabs.setCurrentIndex(1)
    first.close()
    second = MainWindow(settings, catalog, use_audio_device=False)
    qtbot.addWidget(second)
    assert second.live_view.hop_spin.value() == 0.3 and second.live_view.gate_spin.value() == -42.0
    assert second.tabs.currentIndex() == 1
    second.close()


def test_menus_shortcuts_and_about_box(qtbot, main_window):
    shortcuts = {a.text(): a.shortcut().toString() for m in main_window.menuBar().actions()
                 for a in m.menu().actions() if a.text()}
    assert shortcuts["&Open audio…"] == "Ctrl+O" and shortcuts["&Record"] == "Ctrl+R"
    assert shortcuts["&Play/Pause"] == "Space" and shortcuts["Zoom &in"] == "Ctrl++"
    from gui.about import show_about, versions

    box = show_about(main_window)
    qtbot.addWidget(box)
    assert "onnxruntime" in box.text() and versions()["numpy"] == np.__version__
    box.close()


def test_training_wizard_missing_or_without_torch_says_why(qtbot, main_window, monkeypatch):
    import sys

    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: shown.append(text))
    monkeypatch.setitem(sys.modules, "gui.wizard", None)  # as if the wizard were not installed
    main_window.open_training_wizard()
    assert shown and "not available" in shown[0]


def test_a_real_plot_paints(qtbot):
    """PySide6 6.12 + pyqtgraph 0.14 crashed on the first paint; this keeps the cap honest."""
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.plot(np.arange(100), np.sin(np.arange(100) / 10))
    widget.addItem(pg.ImageItem(np.random.default_rng(0).random((20, 20))))
    widget.resize(300, 200)
    image = widget.grab().toImage()
    assert image.width() == 300 and len({image.pixel(x, 100) for x in range(0, 300, 7)}) > 2


def test_global_error_handler_shows_one_dialog_at_a_time(qtbot, monkeypatch):
    from gui.app import ErrorReporter

    reporter = ErrorReporter()
    shown = []
    monkeypatch.setattr(ErrorReporter, "_show", lambda self, *a: shown.append(a))
    for _ in range(3):
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            reporter.handle(type(exc), exc, exc.__traceback__)
    qtbot.waitUntil(lambda: len(shown) == 3, timeout=2000)
    assert reporter.count == 3
    monkeypatch.undo()
    reporter._show(RuntimeError, RuntimeError("boom"), "trace")
    first = reporter._box
    qtbot.addWidget(first)
    reporter._show(RuntimeError, RuntimeError("again"), "trace")
    assert reporter._box is first and first.isVisible()
    first.close()


def test_audit_tab_is_there_when_the_audit_view_is_installed(main_window):
    import importlib.util

    tabs = [main_window.tabs.tabText(i) for i in range(main_window.tabs.count())]
    assert tabs[:2] == ["Live", "File"]
    assert ("Audit" in tabs) == (importlib.util.find_spec("gui.audit_view") is not None)


def test_user_model_folder_can_be_chosen_and_is_remembered(qtbot, main_window, tmp_path, settings):
    from tests.helpers_onnx import write_tone_model

    folder = tmp_path / "my models"
    write_tone_model(folder / "mine.onnx", tones_hz=(400, 800))
    main_window.set_user_folder(folder)
    names = [e.name for e in main_window.catalog.entries]
    assert "mine" in names and "tones" in names
    assert str(folder) in main_window.models_panel.folders_label.text()
    assert settings.get("models/user_folder") == str(folder)


def test_app_start_opens_the_window_with_the_models_it_finds(qtbot, tmp_path, monkeypatch, model_dir):
    """``main()`` = ``start()`` + the event loop (not run here: its aboutToQuit makes pyqtgraph
    delete every plot scene in the process)."""
    import sys
    import threading

    from PySide6.QtCore import QSettings

    from gui import app as app_module

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)        # restored after the test
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    monkeypatch.setenv("EARMARK_USER_MODELS", str(model_dir))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    window = app_module.start([])
    qtbot.addWidget(window)
    assert window.isVisible() and "tones" in [e.name for e in window.catalog.entries]
    assert sys.excepthook == window.reporter.handle
    window.close()
