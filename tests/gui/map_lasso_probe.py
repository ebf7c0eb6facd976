"""Run on the real xcb platform (by tests/gui/test_index_map_lasso_xcb.py): the index map of a real
index in a window on an X server; xdotool holds Shift, drags a loop with the mouse, types a label
and presses Return, as a person's mouse and keyboard would through X. Prints JSON: the platform,
the dots inside the loop and the dots the map chose, and the windows saved in the sidecars."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from tests.gui.annotate_keys_probe import wait_until


def xdotool(app, *args: str) -> None:
    """Run xdotool while the event loop runs, as a person's hand moves while the app draws (a
    blocked loop would take the whole gesture at once, and pyqtgraph drops moves closer than
    10 ms apart)."""
    hand = subprocess.Popen(["xdotool", *args])
    wait_until(app, lambda: hand.poll() is not None, 30)
    if hand.wait(5) != 0:
        raise RuntimeError(f"xdotool {' '.join(args[:3])}… exited with {hand.returncode}")


def main() -> None:
    app = QApplication(sys.argv)
    from engine.annotations.regions import RegionTrack
    from engine.index.build import IndexRequest, index_job
    from gui.index.lasso import inside
    from gui.index.map_view import IndexMapView
    from tests.engine.index.helpers import write_folder, write_model

    folder = Path(tempfile.mkdtemp(prefix="earmark-lasso-"))
    root = write_folder(folder / "recordings")
    index_job(IndexRequest(root, write_model(folder / "tones.onnx"), out=folder / "idx"))
    view = IndexMapView(use_audio_device=False)
    view.setGeometry(0, 0, 1200, 720)
    view.show()
    view.activateWindow()
    view.raise_()
    projected = []
    view.projected.connect(lambda: projected.append(1))
    view.open_index(folder / "idx")
    wait_until(app, lambda: projected and view.isActiveWindow(), 30)
    wait_until(app, lambda: False, 0.3)                    # the first paint settles the view range
    xy = view.projection.xy.astype(np.float64)
    box = view.plot.getViewBox()
    (x_low, x_high), (y_low, y_high) = box.viewRange()
    xs = np.unique(xy[:, 0])
    gaps = np.where(xs[:-1] < np.median(xs), np.diff(xs), 0)
    cut = int(np.argmax(gaps))
    right = (xs[cut] + xs[cut + 1]) / 2
    left, bottom, top = x_low + 0.02 * (x_high - x_low), y_low + 0.04 * (y_high - y_low), y_high - 0.04 * (y_high - y_low)
    corners = [(left, bottom), (right, bottom), (right, top), (left, top)]
    screen = [view.plot.viewport().mapToGlobal(view.plot.mapFromScene(box.mapViewToScene(QPointF(x, y))))
              for x, y in corners]
    expected = np.flatnonzero(inside(xy, np.array(corners))).tolist()
    steps = ["mousemove", str(screen[0].x()), str(screen[0].y()), "keydown", "shift", "mousedown", "1"]
    for a, b in zip(screen, screen[1:] + screen[:1], strict=True):
        for t in np.linspace(0.1, 1.0, 10):
            steps += ["mousemove", str(round(a.x() + t * (b.x() - a.x()))), str(round(a.y() + t * (b.y() - a.y()))),
                      "sleep", "0.02"]
    steps += ["mouseup", "1", "keyup", "shift"]
    xdotool(app, *steps)
    chosen = wait_until(app, lambda: len(view.selected) > 0, 10)
    result = {"platform": app.platformName(), "xdotool": bool(shutil.which("xdotool")), "points": len(xy),
              "expected": expected, "chosen": sorted(view.selected.tolist()) if chosen else []}
    labelled = []
    view.labelled.connect(lambda: labelled.append(1))
    view.label_edit.setFocus()
    wait_until(app, lambda: view.label_edit.hasFocus(), 5)
    xdotool(app, "type", "--delay", "20", "dog bark")
    wait_until(app, lambda: view.label_edit.text() == "dog bark", 5)
    result["typed"] = view.label_edit.text()
    xdotool(app, "key", "Return")
    result["labelled"] = wait_until(app, lambda: bool(labelled), 20)
    saved = []
    for name in sorted({view.projection.window_of(i)[0] for i in expected}):
        saved += [[name, round(r.start_s, 3), round(r.end_s, 3)] for r in RegionTrack.open(root / name).accepted()
                  if r.label == "dog bark"]
    wanted = sorted([view.projection.window_of(i)[0], round(view.projection.window_of(i)[1], 3),
                     round(view.projection.window_of(i)[2], 3)] for i in expected)
    result["saved_as_chosen"] = sorted(saved) == wanted
    result["saved"] = len(saved)
    print(json.dumps(result))
    view.shutdown()
    view.close()


if __name__ == "__main__":
    main()
