"""Where the GUI thread stalls while a million-row label file is imported in the Annotate tab.

A heartbeat timer on the GUI thread measures the stalls; a watchdog thread notes what the
other threads were doing just before each one; the completion handler (GUI thread) is timed.
``ROWS`` (1,000,000 by default) sets the size; ``SWITCH`` sets the interpreter's switch interval
for the whole run (the import sets its own; ``SWITCH=0.005`` with the old code shows the stalls).

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. .venv/bin/python scripts/import_stalls.py
"""

from __future__ import annotations

import collections
import os
import sys
import tempfile
import threading
import time
import traceback

import numpy as np
import soundfile as sf
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from engine.models.catalog import ModelCatalog
from gui.file.annotate_view import AnnotateView
from gui.settings import Settings

ROWS = int(os.environ.get("ROWS", "1000000"))
STALL_S = float(os.environ.get("STALL_S", "0.15"))


def other_stacks(skip: set[int]) -> dict[int, str]:
    out = {}
    for ident, frame in sys._current_frames().items():
        if ident not in skip:
            stack = traceback.extract_stack(frame)[-6:]
            out[ident] = " <- ".join(f"{os.path.basename(s.filename)}:{s.lineno}:{s.name}" for s in reversed(stack))
    return out


def main() -> None:
    app = QApplication([])
    if os.environ.get("SWITCH"):
        sys.setswitchinterval(float(os.environ["SWITCH"]))
    folder = tempfile.mkdtemp(prefix="import-stalls-")
    sf.write(f"{folder}/rec.wav", np.zeros(60 * 16000, np.float32), 16000)
    with open(f"{folder}/big.txt", "w") as out:
        for i in range(ROWS):
            t = i * 50e-6
            out.write(f"{t:.6f}\t{t + 0.04:.6f}\tl{i % 50}\n")
    view = AnnotateView(ModelCatalog([], threads=1), Settings.at(f"{folder}/earmark.ini"), use_audio_device=False)
    view.resize(1366, 720)
    view.show()
    done: list[int] = []
    view.labels_imported.connect(done.append)
    view.open_file(f"{folder}/rec.wav")
    settle = time.monotonic() + 2
    while time.monotonic() < settle:
        app.processEvents()
    beats = [time.monotonic()]
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: beats.append(time.monotonic()))
    heartbeat.start(20)
    before_stalls: collections.Counter[str] = collections.Counter()
    stop = threading.Event()

    def watch() -> None:
        skip = {threading.main_thread().ident, threading.get_ident()}
        previous, last = other_stacks(skip), time.monotonic()
        while not stop.wait(0.005):
            now = time.monotonic()
            current = other_stacks(skip)
            if now - last > STALL_S:
                for stack in previous.values():
                    before_stalls[f"{now - last:.2f} s after: {stack}"] += 1
            previous, last = current, now

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    handler = view._on_import_completed

    def timed(*args):
        started = time.monotonic()
        try:
            return handler(*args)
        finally:
            print(f"completion handler on the GUI thread: {time.monotonic() - started:.3f} s")

    view._on_import_completed = timed
    view.import_labels(f"{folder}/big.txt")
    end = None
    while end is None or time.monotonic() < end:
        app.processEvents()
        time.sleep(0.002)
        if done and end is None:
            end = time.monotonic() + 0.5
    stop.set()
    gaps = np.diff(beats)
    order = np.argsort(gaps)[-8:]
    print(f"{ROWS:,} rows in {beats[-1] - beats[0]:.1f} s; longest GUI stalls (s):", np.round(gaps[order], 3).tolist())
    print("at (s):", [round(beats[i] - beats[0], 2) for i in order])
    for text, n in before_stalls.most_common(10):
        print(n, text)
    view.shutdown()


if __name__ == "__main__":
    main()
