"""Run on the real xcb platform (by tests/gui/test_annotate_redo_xcb.py): the Annotate view in a
window on an X server; keys reach it as Linux delivers them (xdotool through the X server where
installed, else QTest's key events, which go through the same shortcut map). Prints JSON:
the platform, Qt's bindings for Redo there, and the number of regions after each key."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


def wait_until(app, condition, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app.processEvents()
        if condition():
            return True
        QTest.qWait(20)
    return condition()


def press(app, widget, xdotool_keys: str, key, modifiers) -> None:
    if shutil.which("xdotool"):
        subprocess.run(["xdotool", "key", "--clearmodifiers", xdotool_keys], check=True, timeout=10)
    else:
        QTest.keyClick(widget, key, modifiers)


def main() -> None:
    app = QApplication(sys.argv)
    from engine.models.catalog import ModelCatalog
    from gui.file.annotate_view import AnnotateView
    from gui.settings import Settings

    folder = Path(tempfile.mkdtemp(prefix="earmark-keys-"))
    wav = folder / "rec.wav"
    sf.write(wav, np.zeros(16000 * 4, dtype=np.float32), 16000)
    view = AnnotateView(ModelCatalog([]), Settings.at(folder / "earmark.ini"), use_audio_device=False)
    view.resize(1300, 700)
    view.show()
    view.open_file(wav)
    view.track.add(1.0, 2.0, "a")
    view.activateWindow()
    view.raise_()
    active = wait_until(app, lambda: view.isActiveWindow())
    view.label_lane.setFocus()
    wait_until(app, lambda: view.label_lane.hasFocus())
    count = lambda: len(view.track.regions)  # noqa: E731
    result = {"platform": app.platformName(), "active": active, "focus": view.label_lane.hasFocus(),
              "xdotool": bool(shutil.which("xdotool")),
              "redo_bindings": [k.toString() for k in QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)],
              "before": count()}
    ctrl, shift = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
    steps = [("undo", "ctrl+z", Qt.Key.Key_Z, ctrl, 0), ("ctrl+shift+z", "ctrl+shift+z", Qt.Key.Key_Z, ctrl | shift, 1),
             ("undo again", "ctrl+z", Qt.Key.Key_Z, ctrl, 0), ("ctrl+y", "ctrl+y", Qt.Key.Key_Y, ctrl, 1)]
    for name, xkeys, key, mods, expected in steps:
        press(app, view.label_lane, xkeys, key, mods)
        wait_until(app, lambda e=expected: count() == e, timeout_s=3.0)
        result[name] = count()
    print(json.dumps(result))
    view.shutdown()
    view.close()


if __name__ == "__main__":
    main()
