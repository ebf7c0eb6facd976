"""The clip spectrograms of the File and Audit tabs (issue 27): Ctrl+wheel, or the wheel over the
frequency axis, zooms frequency as in Annotate; a right click changes colours and dB range."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from tests.conftest import sine
from tests.gui.test_annotate_day import _wheel


def _check_zoom_and_look(qtbot, spec):
    top = spec.max_freq_hz
    assert spec.viewRange()[1] == pytest.approx([0.0, top])
    x_before = spec.viewRange()[0]
    at = spec.mapFromScene(spec.box.mapViewToScene(QPointF(0.1, top / 4)))
    _wheel(spec.viewport(), at, steps=3, modifiers=Qt.KeyboardModifier.ControlModifier)
    low, high = spec.viewRange()[1]
    assert 0 <= low < top / 4 < high < top and high - low < 0.6 * top
    assert spec.viewRange()[0] == pytest.approx(x_before)          # time untouched
    axis = spec.getPlotItem().getAxis("left")
    _wheel(spec.viewport(), spec.mapFromScene(axis.mapToScene(axis.boundingRect().center())), steps=-1)
    assert spec.viewRange()[1][1] - spec.viewRange()[1][0] > high - low  # the axis wheel zooms out
    from PySide6.QtGui import QContextMenuEvent

    spec.contextMenuEvent(QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at, spec.mapToGlobal(at)))
    menus = {a.text(): a.menu() for a in spec.menu.actions()}
    next(a for a in menus["Colours"].actions() if a.text() == "viridis").trigger()
    next(a for a in menus["dB range"].actions() if a.text() == "60 dB").trigger()
    assert spec.look.colormap == "viridis" and np.diff(spec.item.levels)[0] == pytest.approx(60.0)
    next(a for a in spec.menu.actions() if a.text().startswith("Every frequency")).trigger()
    assert spec.viewRange()[1] == pytest.approx([0.0, top])
    spec.menu.close()


def test_the_file_tabs_spectrogram_zooms_frequency_and_changes_its_look(qtbot, main_window, write_wav):
    view = main_window.file_view
    main_window.tabs.setCurrentWidget(view)
    with qtbot.waitSignal(view.classified, timeout=20000):
        view.open_file(write_wav("tones.wav", np.concatenate([sine(500, 1.0), sine(3000, 1.0)])))
    _check_zoom_and_look(qtbot, view.spectrogram)


def test_the_audit_tabs_spectrogram_zooms_frequency_and_changes_its_look(qtbot, main_window, write_wav, tmp_path):
    audit = main_window.audit_view
    if audit is None:
        pytest.skip("the Audit tab is not installed")
    for i, name in enumerate(["03a01Wa.wav", "03a02Fa.wav", "08b01Na.wav"]):
        write_wav(f"emodb/wav/{name}", sine(300 + 200 * i, 0.5, 8000), 8000)
    main_window.tabs.setCurrentWidget(audit)
    audit.autoplay_check.setChecked(False)
    with qtbot.waitSignal(audit.opened, timeout=20000):
        audit.open_dataset(tmp_path / "emodb", "emodb")
    spec = audit.clip_panel.spectrogram
    qtbot.waitUntil(lambda: spec._db is not None, timeout=10000)
    _check_zoom_and_look(qtbot, spec)
    audit.shutdown()


def test_playback_speed_from_the_menu_in_the_file_audit_and_annotate_tabs(qtbot, main_window, write_wav):
    import time

    view = main_window.file_view
    main_window.tabs.setCurrentWidget(view)
    with qtbot.waitSignal(view.classified, timeout=20000):
        view.open_file(write_wav("one_second.wav", sine(440, 1.0)))
    main_window.speed_actions[0.5].trigger()
    assert view.player.speed == 0.5 and abs(view.player.samples.size - 2 * view.player.source.size) <= 2
    positions = []
    view.player.moved.connect(positions.append)
    started = time.monotonic()
    with qtbot.waitSignal(view.player.stopped, timeout=10000):
        view.player.play()
    assert time.monotonic() - started > 1.8                        # one second at half speed
    assert max(positions) == pytest.approx(1.0, abs=0.01)          # in the clip's own seconds
    main_window.keep_pitch_action.setChecked(False)
    assert not view.player.keep_pitch
    main_window.tabs.setCurrentWidget(main_window.annotate_view)
    assert main_window.speed_actions[1.0].isChecked()               # the menu shows this tab's speed
    main_window.speed_actions[2.0].trigger()
    assert main_window.annotate_view.speed_box.currentText() == "2×"
    assert main_window.annotate_view.playback.speed == 2.0
    main_window.tabs.setCurrentWidget(view)
    assert main_window.speed_actions[0.5].isChecked() and not main_window.keep_pitch_action.isChecked()


def test_each_tabs_spectrogram_look_is_remembered(qtbot, settings, catalog):
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QContextMenuEvent

    from gui.main_window import MainWindow

    window = MainWindow(settings, catalog, use_audio_device=False)
    qtbot.addWidget(window)
    spec = window.file_view.spectrogram
    spec.contextMenuEvent(QContextMenuEvent(QContextMenuEvent.Reason.Mouse, QPoint(5, 5), QPoint(5, 5)))
    menus = {a.text(): a.menu() for a in spec.menu.actions()}
    next(a for a in menus["Colours"].actions() if a.text() == "magma").trigger()
    next(a for a in menus["dB range"].actions() if a.text() == "100 dB").trigger()
    spec.menu.close()
    window.close()
    again = MainWindow(settings, catalog, use_audio_device=False)
    qtbot.addWidget(again)
    assert (again.file_view.spectrogram.look.colormap, again.file_view.spectrogram.look.db_range) == ("magma", 100.0)
    if again.audit_view is not None:   # a look per tab
        assert again.audit_view.clip_panel.spectrogram.look.colormap == "inferno"
    again.close()


def test_the_file_tab_has_the_overview_strip_too(qtbot, main_window, write_wav):
    view = main_window.file_view
    main_window.tabs.setCurrentWidget(view)
    with qtbot.waitSignal(view.classified, timeout=20000):
        view.open_file(write_wav("four_seconds.wav", np.concatenate([sine(500, 2.0), sine(3000, 2.0)])))
    strip = view.overview
    assert strip.upper.xData is not None and abs(strip.upper.xData[-1] - 4.0) < 0.05
    view.zoom(0.25)
    low, high = view.waveform.viewRange()[0]
    assert strip.view() == pytest.approx((low, high))
    strip.view_box.setRegion((0.5, 1.5))            # as a drag of its box does
    assert view.waveform.viewRange()[0] == pytest.approx([0.5, 1.5])
