"""The index map (gui.index.map_view) on real index folders: every live window drawn, colours that
follow the combo, a real click naming the right window."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from gui.index.map_view import IndexMapView, IndexMapWindow
from tests.engine.index.helpers import write_synthetic_index


@pytest.fixture
def index_root(tmp_path):
    return write_synthetic_index(tmp_path / "idx", 600, dim=12, recordings=5, dead_rows=40)


def _open(qtbot, view: IndexMapView, root) -> None:
    with qtbot.waitSignal(view.projected, timeout=20_000):
        view.open_index(root)


def test_every_live_window_is_a_dot_and_the_combo_recolours(qtbot, index_root):
    view = IndexMapView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    _open(qtbot, view, index_root)
    assert view.point_count() == 600 == len(view.projection)
    assert view.colour_by == "answer" and view.legend.count() == 3
    by_answer = [view.colour_of_point(i) for i in range(600)]
    view.colour_box.setCurrentIndex(view.colour_box.findData("recording"))
    assert view.point_count() == 600 and view.legend.count() == 5
    by_recording = [view.colour_of_point(i) for i in range(600)]
    assert by_answer != by_recording
    assert len(set(by_recording)) == 5 and len(set(by_answer)) == 3
    assert "rec4.wav" in view.legend.item(4).text()
    view.shutdown()


def _shown(qtbot, index_root) -> IndexMapView:
    """A map of ``index_root``, on screen and drawn."""
    view = IndexMapView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    _open(qtbot, view, index_root)
    return view


def _isolated_dots(view: IndexMapView) -> tuple[np.ndarray, np.ndarray]:
    """(viewport pixel of every dot, the dots with no other within 12 px and away from the edges)."""
    box = view.plot.getViewBox()
    points = (view.plot.mapFromScene(box.mapViewToScene(pg_point(x, y))) for x, y in view.projection.xy)
    px = np.array([[p.x(), p.y()] for p in points])
    inside = (px[:, 0] > 20) & (px[:, 0] < view.plot.width() - 20) & (px[:, 1] > 20) & (px[:, 1] < view.plot.height() - 20)
    d = np.linalg.norm(px[:, None, :] - px[None, :, :], axis=2) + np.eye(len(px)) * 1e9
    alone = np.flatnonzero(inside & (d.min(axis=1) > 12))
    assert len(alone), "no isolated dot"
    return px, alone


def test_the_dots_are_painted_where_they_are_in_their_colour(qtbot, index_root):
    view = _shown(qtbot, index_root)
    px, alone = _isolated_dots(view)
    for colour_by in ("answer", "recording"):
        view.colour_box.setCurrentIndex(view.colour_box.findData(colour_by))
        image = view.plot.viewport().grab().toImage()
        for i in alone[:10]:
            x, y = (int(v) for v in np.floor(px[i]))
            assert image.pixelColor(x, y).name() == view.colour_of_point(int(i)), (colour_by, i)
    view.shutdown()


def test_a_click_on_a_dot_names_its_window(qtbot, index_root):
    view = _shown(qtbot, index_root)
    projection = view.projection
    px, alone = _isolated_dots(view)
    i = int(alone[0])
    with qtbot.waitSignal(view.window_chosen, timeout=2000) as signal:
        qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(*np.round(px[i]).astype(int)))
    recording, start_s, end_s = projection.window_of(i)
    assert signal.args == [recording, pytest.approx(start_s), pytest.approx(end_s)]
    assert view.chosen == i and recording in view.chosen_label.text()
    row = int(projection.rows[i])
    assert start_s == pytest.approx((row - 40 - 120 * int(recording[3])) * 0.5)   # rows 40.. are 5 × 120 live
    view.shutdown()


def test_the_window_opens_an_index_and_a_bad_folder_says_why(qtbot, index_root, tmp_path):
    window = IndexMapWindow(index_root)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.view.projected, timeout=20_000):
        window.show()
    assert window.view.point_count() == 600
    other = IndexMapView()
    qtbot.addWidget(other)
    worker = other.open_index(tmp_path)              # not an index folder
    with qtbot.waitSignal(worker.ended, timeout=20_000):
        pass
    assert "Cannot map the index" in other.status.text()


def pg_point(x: float, y: float):
    from PySide6.QtCore import QPointF

    return QPointF(float(x), float(y))


def test_file_index_map_opens_the_chosen_index_in_its_own_window(qtbot, main_window, index_root, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(index_root))
    file_menu = next(a.menu() for a in main_window.menuBar().actions() if a.text() == "&File")
    action = next(a for a in file_menu.actions() if a.text().replace("&", "") == "Index map…")
    action.trigger()
    window = main_window.findChild(IndexMapWindow)
    assert window is not None and window.isWindow() and window.isVisible()
    qtbot.waitUntil(lambda: window.view.point_count() == 600, timeout=20_000)
    window.close()


def test_a_window_chosen_on_the_map_opens_selected_in_the_annotate_tab(qtbot, main_window, index_root, monkeypatch):
    """The map's chosen window goes to the Annotate tab (to hear, see and label it), from File ▸ Index map…"""
    import soundfile as sf
    from PySide6.QtWidgets import QFileDialog

    for i in range(5):   # the synthetic index's recordings, as real files in the indexed folder
        sf.write(index_root.parent / f"rec{i}.wav", np.zeros(62 * 8000, np.float32), 8000)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(index_root))
    main_window._on_index_map()
    window = main_window.findChild(IndexMapWindow)
    qtbot.waitUntil(lambda: window.view.point_count() == 600, timeout=20_000)
    assert not window.view.annotate_button.isEnabled()          # nothing chosen yet
    i = 300
    window.view.choose(i)
    recording, start_s, end_s = window.view.projection.window_of(i)
    qtbot.mouseClick(window.view.annotate_button, Qt.MouseButton.LeftButton)
    view = main_window.annotate_view
    assert main_window.tabs.currentWidget() is view
    assert view.audio is not None and view.audio.path == index_root.parent / recording
    assert view.selection == (pytest.approx(start_s), pytest.approx(end_s))
    window.close()
