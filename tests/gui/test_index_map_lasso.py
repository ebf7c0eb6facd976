"""Lasso a group of dots on the index map and label them: a Shift+drag by mouse events on the
plot chooses exactly the dots inside the loop, and Enter on a typed label saves each chosen
window as a region in its recording's sidecar (a real index of real WAVs)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from engine.annotations.regions import RegionTrack
from engine.index.build import IndexRequest, index_job
from gui.index.lasso import inside
from gui.index.map_view import PALETTE, UNLABELLED_COLOUR, IndexMapView
from tests.engine.index.helpers import write_folder, write_model


@pytest.fixture
def indexed(tmp_path):
    root = write_folder(tmp_path / "recordings")
    index_job(IndexRequest(root, write_model(tmp_path / "tones.onnx"), out=tmp_path / "idx"))
    return root, tmp_path / "idx"


def _mouse(widget, kind, pos: QPoint, buttons) -> None:
    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), Qt.MouseButton.LeftButton,
                        buttons, Qt.KeyboardModifier.ShiftModifier)
    QApplication.sendEvent(widget, event)


def _shift_drag(view: IndexMapView, corners_xy: list[tuple[float, float]]) -> None:
    """Press, move through ``corners_xy`` (data coordinates) in small steps, release, Shift held.
    The moves are paced as a hand's (60 a second): pyqtgraph takes at most 100 moves a second
    (``mouseRateLimit``) and drops the rest."""
    box, viewport = view.plot.getViewBox(), view.plot.viewport()
    pixels = [view.plot.mapFromScene(box.mapViewToScene(QPointF(x, y))) for x, y in corners_xy]
    held, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    _mouse(viewport, QEvent.Type.MouseButtonPress, pixels[0], held)
    for a, b in zip(pixels, pixels[1:] + pixels[:1], strict=True):
        for t in np.linspace(0.1, 1.0, 10):
            _mouse(viewport, QEvent.Type.MouseMove, QPoint(round(a.x() + t * (b.x() - a.x())),
                                                           round(a.y() + t * (b.y() - a.y()))), held)
            QTest.qWait(16)  # input pacing (a hand's 60 moves a second), not a wait for a condition
    _mouse(viewport, QEvent.Type.MouseButtonRelease, pixels[0], none)


def _opened_map(qtbot, idx) -> IndexMapView:
    """The map of the index at ``idx``, on screen and drawn (silent: no audio device)."""
    view = IndexMapView(use_audio_device=False)
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    qtbot.waitExposed(view)
    with qtbot.waitSignal(view.projected, timeout=20_000):
        view.open_index(idx)
    return view


def test_a_lassoed_group_is_chosen_and_labelled_into_the_sidecars(qtbot, indexed):
    root, idx = indexed
    view = _opened_map(qtbot, idx)
    xy = view.projection.xy.astype(np.float64)
    (x_low, x_high), (y_low, y_high) = view.plot.getViewBox().viewRange()
    # a loop around the left part of the map, its right edge in the widest gap between dots
    xs = np.unique(xy[:, 0])
    gaps = np.diff(xs)
    cut = int(np.argmax(np.where(xs[:-1] < np.median(xs), gaps, 0)))
    right = (xs[cut] + xs[cut + 1]) / 2
    loop = [(x_low + 0.01 * (x_high - x_low), y_low + 0.02 * (y_high - y_low)),
            (right, y_low + 0.02 * (y_high - y_low)),
            (right, y_high - 0.02 * (y_high - y_low)),
            (x_low + 0.01 * (x_high - x_low), y_high - 0.02 * (y_high - y_low))]
    expected = np.flatnonzero(inside(xy, np.array(loop)))
    assert 0 < len(expected) < len(xy)
    _shift_drag(view, loop)
    assert sorted(view.selected.tolist()) == expected.tolist()
    assert f"{len(expected)}" in view.label_button.text() and view.label_button.isEnabled()

    view.label_edit.setFocus()
    QTest.keyClicks(view.label_edit, "dog bark")   # a space typed is text, not Play
    assert view.label_edit.text() == "dog bark"
    with qtbot.waitSignal(view.labelled, timeout=20_000):
        QTest.keyClick(view.label_edit, Qt.Key.Key_Return)
    assert "Labelled" in view.status.text(), view.status.text()
    saved = {}
    for name in {view.projection.window_of(int(i))[0] for i in expected}:
        saved[name] = {(round(r.start_s, 3), round(r.end_s, 3)) for r in RegionTrack.open(root / name).accepted()
                       if r.label == "dog bark"}
    wanted = {}
    for i in expected:
        name, start_s, end_s = view.projection.window_of(int(i))
        wanted.setdefault(name, set()).add((round(start_s, 3), round(end_s, 3)))
    assert saved == wanted
    assert len(view.selected) == 0                       # the chosen dots are let go once labelled

    # coloured by the person's labels: the labelled windows in the label's colour, the rest grey
    view.colour_box.setCurrentIndex(view.colour_box.findData("person"))
    qtbot.waitUntil(lambda: view.person is not None, timeout=20_000)
    names, keys = view.person
    assert names == ["not labelled", "dog bark"]
    assert sorted(np.flatnonzero(keys).tolist()) == expected.tolist()
    others = np.setdiff1d(np.arange(len(xy)), expected)
    assert {view.colour_of_point(int(i)) for i in expected} == {PALETTE[0]}
    assert {view.colour_of_point(int(i)) for i in others} == {UNLABELLED_COLOUR}
    assert [view.legend.item(i).text() for i in range(view.legend.count())] == [
        f"not labelled  ({len(others):,})", f"dog bark  ({len(expected):,})"]


def test_inside_is_the_even_odd_rule():
    square = np.array([[0, 0], [2, 0], [2, 2], [0, 2]], float)
    points = np.array([[1, 1], [3, 1], [1, 3], [-1, -1], [1.99, 0.01]])
    assert inside(points, square).tolist() == [True, False, False, False, True]
    bow = np.array([[0, 0], [4, 0], [4, 4], [3, 4], [3, 1], [1, 1], [1, 4], [0, 4]], float)  # a "U"
    assert inside(np.array([[2, 3], [0.5, 3], [3.5, 3], [2, 0.5]]), bow).tolist() == [False, True, True, True]


def test_a_clicked_window_is_seen_as_a_tile_and_heard_with_space(qtbot, indexed):
    root, idx = indexed
    view = _opened_map(qtbot, idx)
    view.choose(5)
    qtbot.waitUntil(lambda: view.preview.tile is not None, timeout=20_000)
    name, start_s, end_s = view.projection.window_of(5)
    tile = view.preview.tile
    assert tile.row == int(view.projection.rows[5]) and not tile.error
    assert len(tile.samples) == round((end_s - start_s) * tile.sample_rate_hz)
    assert not view.preview.image.pixmap().isNull() and view.preview.play_button.isEnabled()
    with qtbot.waitSignal(view.preview.player.started, timeout=5_000):
        QTest.keyClick(view, Qt.Key.Key_Space)
    view.shutdown()
