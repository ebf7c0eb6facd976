"""Where the GUI thread stalls while a million-row label file is imported in the Annotate tab.

A heartbeat timer on the GUI thread measures the stalls. At each beat it re-arms
``faulthandler.dump_traceback_later``: when the next beat is more than ``STALL_S`` late, the
interpreter's own C watchdog (which needs no interpreter lock, so it changes nothing of what it
measures) writes every thread's stack to ``stalls.txt`` in the run's folder. The completion handler
(GUI thread) is timed. (A Python watcher thread sampling stacks every 5 ms, used before, took the
interpreter lock itself and hid the stalls it was looking for: 0.06 s while the test read 0.3-0.6 s.)
``ROWS`` (1,000,000 by default) sets the size; ``SWITCH`` sets the interpreter's switch interval
for the whole run (the import sets its own; ``SWITCH=0.005`` with the old code shows the stalls).

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. .venv/bin/python scripts/import_stalls.py
"""

from __future__ import annotations

import faulthandler
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from engine.models.catalog import ModelCatalog
from gui.file.annotate_view import AnnotateView
from gui.settings import Settings

ROWS = int(os.environ.get("ROWS", "1000000"))
STALL_S = float(os.environ.get("STALL_S", "0.15"))


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
    dump = open(f"{folder}/stalls.txt", "w")  # noqa: SIM115 (faulthandler writes to it until the end)

    def beat() -> None:
        beats.append(time.monotonic())
        faulthandler.dump_traceback_later(STALL_S, repeat=False, file=dump)

    heartbeat = QTimer()
    heartbeat.timeout.connect(beat)
    heartbeat.start(20)
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
    faulthandler.cancel_dump_traceback_later()
    dump.close()
    gaps = np.diff(beats)
    order = np.argsort(gaps)[-8:]
    print(f"{ROWS:,} rows in {beats[-1] - beats[0]:.1f} s; longest GUI stalls (s):", np.round(gaps[order], 3).tolist())
    print("at (s):", [round(beats[i] - beats[0], 2) for i in order])
    stalls = Path(f"{folder}/stalls.txt").read_text()
    print(f"{stalls.count('Timeout')} stall(s) over {STALL_S} s; every thread's stack at each: {folder}/stalls.txt")
    view.shutdown()


if __name__ == "__main__":
    main()
