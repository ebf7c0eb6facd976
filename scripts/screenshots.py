"""Make docs/screenshots/live_view.png and file_view.png from real audio.

    .venv/bin/python scripts/screenshots.py [--model MODEL.onnx] [--data DIR] [--out DIR]
    .venv/bin/python scripts/screenshots.py --laptop [--paced-mic]  # the whole 1366x768 screen, maximised

--laptop needs a real X server of that size with a window manager, e.g.
``Xvfb :99 -screen 0 1366x768x24 & DISPLAY=:99 openbox & DISPLAY=:99 QT_QPA_PLATFORM=xcb ...``;
it shoots each tab (Audit with the data set's folder opened and ranked) as laptop_*.png.

Runs offscreen (QT_QPA_PLATFORM=offscreen; under Xvfb set QT_QPA_PLATFORM=xcb). The live view
hears EmoDB clips played in real time through a file source; the file view opens one clip.
The model is --model, else the first usable one in models_onnx/, else a small test model.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "emodb-2s" / "wav"
CLIPS = ("03a01Wa.wav", "03a02Fc.wav", "03a01Nc.wav", "03a05Tc.wav")
SIZE = (1600, 900)


def _wait(app, predicate, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    return predicate()


def _catalog(model: str | None, scratch: Path):
    from engine.models.catalog import ModelCatalog
    from engine.userdirs import bundled_model_dir

    if model:
        catalog = ModelCatalog([("shipped", Path(model).parent)])
        catalog.refresh()
        catalog.select(model)
        return catalog
    catalog = ModelCatalog([("shipped", bundled_model_dir())])
    catalog.refresh()
    if catalog.current is None:
        from tests.helpers_onnx import write_tone_model

        catalog = ModelCatalog([("shipped", scratch)])
        write_tone_model(scratch / "tones-test-model.onnx")
        catalog.refresh()
    return catalog


def shoot_file_view(app, window, clips: list[Path], scratch: Path, target: Path) -> None:
    """Clips of the first clip's speaker back to back (one file of at least 24 s, long enough
    for a speaker-normalised model to calibrate to it), classified window by window."""
    import numpy as np

    from engine.audio.io import load_audio, save_audio

    first = load_audio(clips[0])
    same_speaker = [*clips[:3], *sorted(p for p in clips[0].parent.glob(f"{clips[0].name[:2]}*.wav")
                                        if p not in clips[:3])]
    parts, seconds = [], 0.0
    for clip in same_speaker:
        parts.append(load_audio(clip, first.sample_rate_hz).samples)
        seconds += len(parts[-1]) / first.sample_rate_hz
        if seconds >= 24.0:
            break
    joined = np.concatenate(parts)
    file_path = scratch / (f"emodb-speaker{clips[0].name[:2]}-{len(parts)}-clips.wav")
    save_audio(file_path, joined, first.sample_rate_hz)
    window.tabs.setCurrentWidget(window.file_view)
    done = []
    window.file_view.classified.connect(done.append)
    window.file_view.open_file(file_path)
    _wait(app, lambda: bool(done), 30)
    window.file_view.player.seek(2.6)
    _wait(app, lambda: False, 0.5)
    window.grab().save(str(target))


def shoot_live_view(app, window, clips: list[Path], rate: int, target: Path, keep_running: bool = False) -> None:
    """The clips, back to back, heard in real time through a file source."""
    import numpy as np

    from engine.audio.io import load_audio
    from engine.live.sources import FileSource

    gap = np.zeros(int(0.4 * rate), dtype=np.float32)
    stream = np.concatenate([np.concatenate([load_audio(c, rate).samples, gap]) for c in clips])
    window.tabs.setCurrentWidget(window.live_view)
    window.live_view.start(lambda ring, r: FileSource(ring, stream, r, block_size=512, speed=1.0, loop=True,
                                                      name="EmoDB clips (file source)"))
    _wait(app, lambda: False, 6.5)
    _wait(app, lambda: window.live_view.meter.level_dbfs > -30, 4.0)  # grab while someone speaks
    if keep_running:
        return
    window.grab().save(str(target))
    window.live_view.stop()


def listen_on_paced_mic(app, window, clips: list[Path], mic) -> None:
    """The live view on the paced virtual microphone (tests/paced_mic.py), the clips played into it."""
    import numpy as np

    from engine.audio.io import load_audio

    window.tabs.setCurrentWidget(window.live_view)
    window.live_view.refresh_devices()
    if not window.live_view.start():
        raise SystemExit(f"the live view did not start: {window.live_view.message_label.text()}")
    gap = np.zeros(int(0.4 * mic.rate_hz), dtype=np.float32)
    for clip in clips * 3:
        mic.play(np.concatenate([load_audio(clip, mic.rate_hz).samples, gap]))
    _wait(app, lambda: False, 6.5)
    _wait(app, lambda: window.live_view.meter.level_dbfs > -30, 4.0)  # grab while someone speaks


def shoot_laptop(app, window, clips: list[Path], scratch: Path, rate: int, out: Path, mic=None) -> list[str]:
    """The maximised window on the whole screen, each tab; returns one line per shot."""
    from PySide6.QtWidgets import QApplication

    window.showMaximized()
    _wait(app, lambda: False, 1.0)
    screen = window.screen()
    lines = []

    def shot(name: str) -> None:
        _wait(app, lambda: False, 0.3)
        screen.grabWindow(0).save(str(out / name))
        hint = window.minimumSizeHint()
        frame = window.frameGeometry()
        lines.append(f"{name}: screen {screen.size().width()}x{screen.size().height()}, window frame "
                     f"{frame.width()}x{frame.height()} at ({frame.x()}, {frame.y()}), minimum "
                     f"{hint.width()}x{hint.height()}, tab {window.tabs.tabText(window.tabs.currentIndex())}")

    if mic is not None:
        listen_on_paced_mic(app, window, clips, mic)
    else:
        shoot_live_view(app, window, clips, rate, scratch / "unused.png", keep_running=True)
    shot("laptop_live.png")
    window.live_view.stop()
    shoot_file_view(app, window, clips, scratch, scratch / "unused.png")
    shot("laptop_file.png")
    audit = window.audit_view
    if audit is not None:
        window.tabs.setCurrentWidget(audit)
        audit.autoplay_check.setChecked(False)
        opened = []
        audit.opened.connect(opened.append)
        audit.open_dataset(clips[0].parent.parent)  # a job: wait for it
        _wait(app, lambda: bool(opened), 60)
        done = []
        audit.ranked.connect(done.append)
        audit.rank_suspects()
        _wait(app, lambda: bool(done), 300)
        QApplication.processEvents()
        shot("laptop_audit_ranked.png")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder of WAV clips (EmoDB wav/)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--laptop", action="store_true", help="maximised on the whole (1366x768) screen")
    parser.add_argument("--paced-mic", action="store_true",
                        help="--laptop: the Live tab listens to the paced virtual microphone (needs pulseaudio)")
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow
    from gui.settings import Settings

    app = QApplication([])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="earmark-shots-"))
    mic = None
    if args.paced_mic:
        from tests.paced_mic import PacedMic

        mic = PacedMic(scratch / "mic", rate_hz=16000).start()
        mic.export()  # before PortAudio starts: the live view lists the devices when it is built
    catalog = _catalog(args.model, scratch)
    window = MainWindow(Settings.at(scratch / "settings.ini"), catalog, use_audio_device=False)
    window.show()
    if not args.laptop:
        window.resize(*SIZE)
    rate = catalog.classifier.meta.sample_rate_hz
    clips = [Path(args.data) / name for name in CLIPS if (Path(args.data) / name).is_file()]
    if not clips:
        clips = sorted(Path(args.data).glob("*.wav"))[:4]
    if not clips:
        parser.error(f"no WAV clips in {args.data}")

    if args.laptop:
        try:
            for line in shoot_laptop(app, window, clips, scratch, rate, out, mic):
                print(line)
        finally:
            window.close()
            if mic is not None:
                mic.stop()
        return 0
    shoot_file_view(app, window, clips, scratch, out / "file_view.png")
    shoot_live_view(app, window, clips, rate, out / "live_view.png")
    window.close()
    print(f"wrote {out / 'live_view.png'} and {out / 'file_view.png'} with model {catalog.current.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
