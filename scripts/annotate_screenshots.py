"""Screenshots of the Annotate loop at 1366x768, for docs/ANNOTATE.md (run under Xvfb):

    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python scripts/annotate_screenshots.py

1. a four-hour 44.1 kHz stereo recording, whole (annotate_whole.png), then one second of
   it (annotate_one_second.png): the spectrogram is recomputed for the visible range;
2. a ten-minute recording with the model's suggestions (annotate_suggestions.png), then
   after accepting, rejecting and relabelling by key (annotate_accepted.png);
3. ``main.py clips`` on the accepted regions, ``main.py train`` on the data set, and the
   new model's suggestions on a second recording (annotate_new_model.png).

Everything is generated in ``--work`` (a temporary folder by default); the text output
of steps 3 is printed for the docs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

SR = 16000
SIDECAR = ".earmark-regions.json"
TONES = {"tone_300hz": 300.0, "tone_2000hz": 2000.0}


def _recording(path: Path, seconds: int, seed: int) -> list[tuple[float, float, str]]:
    """Noise with bursts of 300 Hz and 2 kHz (a little vibrato) at random times; returns the truth."""
    rng = np.random.default_rng(seed)
    x = (0.01 * rng.standard_normal(seconds * SR)).astype(np.float32)
    truth, t = [], 5.0
    while t < seconds - 10:
        label = rng.choice(list(TONES))
        length = float(rng.uniform(1.0, 3.0))
        n = int(length * SR)
        k = np.arange(n) / SR
        freq = TONES[label] * (1 + 0.01 * np.sin(2 * np.pi * 5 * k))
        burst = 0.3 * np.sin(2 * np.pi * np.cumsum(freq) / SR) * np.hanning(n)
        x[int(t * SR):int(t * SR) + n] += burst.astype(np.float32)
        truth.append((t, t + length, str(label)))
        t += length + float(rng.uniform(4.0, 25.0))
    sf.write(path, x, SR)
    return truth


def _four_hours(path: Path) -> None:
    from tests.helpers_longwav import write_long_wav

    write_long_wav(path, 4 * 3600, tones={h * 3600 + 1800.0: 1000.0 + 500 * h for h in range(4)}, tone_s=30.0)
    # a chirp at 3:00:10 (500 Hz to 6 kHz in 2 s) for the one-second view
    with sf.SoundFile(path, "r+") as f:
        t = np.arange(2 * 44100) / 44100
        chirp = 0.5 * np.sin(2 * np.pi * (500 * t + (5500 / 4) * t ** 2))
        f.seek(int((3 * 3600 + 10) * 44100))
        f.write(np.stack([chirp, chirp], axis=1))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default=None)
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="earmark-annotate-"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ["EARMARK_CACHE_DIR"] = str(work / "cache")

    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from engine.models.catalog import ModelCatalog
    from gui.main_window import MainWindow
    from gui.settings import Settings
    from tests.helpers_onnx import write_tone_model

    app = QApplication.instance() or QApplication([])
    models = work / "models"
    write_tone_model(models / "tones.onnx", tones_hz=(300, 2000), sample_rate_hz=SR, clip_s=1.0)
    catalog = ModelCatalog([("shipped", models)], threads=1)
    window = MainWindow(Settings.at(work / "earmark.ini"), catalog, use_audio_device=False)
    window.move(0, 0)
    window.resize(1366, 768)
    window.show()
    view = window.annotate_view
    window.tabs.setCurrentWidget(view)
    window.models_dock.hide()

    def wait(pred, timeout_s=120.0) -> None:
        end = time.monotonic() + timeout_s
        while not pred() and time.monotonic() < end:
            loop = QEventLoop()
            QTimer.singleShot(20, loop.quit)
            loop.exec()
        if not pred():
            raise SystemExit("timed out waiting for the view")

    def drawn(start_s, end_s):
        return lambda: (view.spectrogram.data is not None and abs(view.spectrogram.data.start_s - start_s) < 1e-6
                        and abs(view.spectrogram.data.end_s - end_s) < 1e-6)

    def shot(name: str) -> None:
        wait(lambda: True, 0.3)
        app.processEvents()
        image = app.primaryScreen().grabWindow(0)
        if image.isNull() or image.width() < 100:  # offscreen: no screen to grab
            image = window.grab()
        image.save(str(out / name))
        print(f"wrote {out / name} ({image.width()}x{image.height()})")

    # 1. four hours, whole and one second
    long = work / "four_hours.wav"
    _four_hours(long)
    view.open_file(long)
    wait(drawn(0.0, 4 * 3600.0))
    shot("annotate_whole.png")
    at = 3 * 3600 + 10.5
    view.zoom_to(at, at + 1.0)
    wait(drawn(at, at + 1.0))
    shot("annotate_one_second.png")

    # 2. ten minutes, suggestions, then accepted by key
    rec = work / "dawn.wav"
    truth = _recording(rec, 600, seed=1)
    catalog.refresh()
    catalog.select(models / "tones.onnx")
    view.open_file(rec)
    view.labels_edit.setText("tone_300hz, tone_2000hz")
    view.labels_edit.editingFinished.emit()
    view.confidence_box.setValue(0.8)
    done = []
    view.suggested.connect(done.append)
    view.suggest()
    wait(lambda: bool(done))
    view.zoom_to(0.0, 120.0)
    wait(drawn(0.0, 120.0))
    view.track.add(truth[0][0], truth[0][1], truth[0][2], note="marked by hand")
    shot("annotate_suggestions.png")
    lane = view.suggestion_lane
    lane.setFocus()
    lane.select_next()
    keys = [Qt.Key.Key_A, Qt.Key.Key_A, Qt.Key.Key_R, Qt.Key.Key_A]  # the third is rejected, to show one
    for key in keys:
        QTest.keyClick(lane, key)
    for _ in range(200):  # accept the rest of the pending suggestions
        if lane.selected_id is None:
            break
        QTest.keyClick(lane, Qt.Key.Key_A)
    view.set_selection((60.0, 62.0))
    shot("annotate_accepted.png")
    print(f"regions: {len(view.track.accepted())} accepted, {len(view.track.suggestions('rejected'))} rejected; "
          f"truth: {len(truth)} bursts")
    noon = work / "noon.wav"  # a second recording (a data set needs two groups to split): accept everything
    _recording(noon, 600, seed=3)
    view.open_file(noon)
    done.clear()
    view.suggest()
    wait(lambda: bool(done))
    lane.setFocus()
    lane.select_next()
    for _ in range(200):
        if lane.selected_id is None:
            break
        QTest.keyClick(lane, Qt.Key.Key_A)

    # 3. a data set, a model, and the new model's suggestions on another recording
    dataset, run = work / "dataset", work / "run"
    for cmd in (["clips", "--audio", str(rec), str(noon), "--labels", str(rec) + SIDECAR, str(noon) + SIDECAR,
                 "--out", str(dataset),
                 "--padding", "0.1", "--background", "background", "--background-seconds", "1.5"],
                ["train", "--data", str(dataset / "data.csv"), "--layout", "csv", "--model", "cnn", "--out", str(run),
                 "--epochs", str(args.epochs), "--seeds", "1", "--batch-size", "8", "--n-mels", "32",
                 "--workers", "1", "--clip-seconds", "1.0", "--sample-rate", str(SR)]):
        print("$ python main.py " + " ".join(cmd).replace(str(work), "WORK"))
        proc = subprocess.run([sys.executable, str(ROOT / "main.py"), *cmd], capture_output=True, text=True,
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        print(proc.stdout.replace(str(work), "WORK")[-1500:])
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            window.close()
            return 1
    (models / "dawn-model.onnx").write_bytes((run / "model.onnx").read_bytes())
    catalog.refresh()
    catalog.select(models / "dawn-model.onnx")
    second = work / "dusk.wav"
    _recording(second, 300, seed=2)
    view.open_file(second)
    view.confidence_box.setValue(0.6)
    done.clear()
    view.suggest()
    wait(lambda: bool(done))
    view.zoom_to(0.0, 120.0)
    wait(drawn(0.0, 120.0))
    shot("annotate_new_model.png")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
