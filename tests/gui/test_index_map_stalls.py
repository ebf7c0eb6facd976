"""The index map at 1366×768 with 100,000 dots stays responsive while it pans (issue 26, item 4):
the GUI thread is never kept from its event loop for 100 ms. Runs alone (tests/conftest.py EXCLUSIVE)."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer

from gui.index.map_view import IndexMapWindow
from tests.engine.index.helpers import write_synthetic_index
from tests.gui.heartbeat import Heartbeat

N_POINTS = 100_000
PAN_S = 2.0
PAN_EVERY_MS = 20
STALL_LIMIT_S = 0.100


def test_panning_100k_dots_never_stalls_100ms(qtbot, tmp_path):
    root = write_synthetic_index(tmp_path / "idx", N_POINTS, dim=64, labels=tuple("abcdefgh"), recordings=40)
    window = IndexMapWindow(root)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    with qtbot.waitSignal(window.view.projected, timeout=60_000):
        window.show()
    qtbot.waitExposed(window)
    view = window.view
    assert view.point_count() == N_POINTS
    box = view.plot.getViewBox()
    (x0, x1), (y0, y1) = box.viewRange()
    step = [(x1 - x0) / 100, (y1 - y0) / 150]
    pans = []

    def pan() -> None:
        if len(pans) % 40 == 0:
            step[0], step[1] = -step[0], -step[1]       # back and forth: the dots stay on screen
        box.translateBy(x=step[0], y=step[1])
        pans.append(time.perf_counter())

    timer = QTimer()
    timer.timeout.connect(pan)
    beat = Heartbeat()
    qtbot.wait(200)                                   # the first paint is over
    with beat.phase("pan"):
        timer.start(PAN_EVERY_MS)
        qtbot.wait(int(PAN_S * 1000))
        timer.stop()
    print(f"\n{N_POINTS:,} dots, {len(pans)} pans in {PAN_S:.0f} s: {beat.report()}")
    assert len(pans) >= PAN_S * 1000 / PAN_EVERY_MS / 4, f"the pan timer hardly ran: {len(pans)} pans"
    assert beat.longest_s("pan") < STALL_LIMIT_S, beat.report()
    for beat_count in (beat.ticks.get("pan", 0),):
        assert beat_count > 50
    window.close()
