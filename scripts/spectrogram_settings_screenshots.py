"""Screenshots of the spectrogram settings (FFT size, window, overlap) in the File, Annotate and
Audit tabs at 1366x768, for docs/ANNOTATE.md and docs/AUDIT.md (issue 27):

    .venv/bin/python scripts/spectrogram_settings_screenshots.py [--data DIR] [--out DIR]

Runs offscreen (the window is grabbed at 1366x768; under Xvfb set QT_QPA_PLATFORM=xcb). Each tab
shows real EmoDB speech with settings other than the defaults, so the screenshot shows them at work.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.screenshots import _wait  # noqa: E402  (one way to wait for the window, shared)

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "emodb-2s" / "wav"
SIZE = (1366, 768)




def _choose(box, n_fft: int, window: str, overlap: float) -> None:
    box.fft_box.setCurrentText(str(n_fft))
    box.window_box.setCurrentText(window)
    box.overlap_box.setCurrentIndex(box.overlap_box.findData(overlap))


def _joined(clips: list[Path], target: Path, seconds: float) -> Path:
    """Clips of one speaker back to back, ``seconds`` long at least."""
    import numpy as np

    from engine.audio.io import load_audio, save_audio

    rate = load_audio(clips[0]).sample_rate_hz
    parts, total = [], 0.0
    for clip in clips:
        parts.append(load_audio(clip, rate).samples)
        total += len(parts[-1]) / rate
        if total >= seconds:
            break
    save_audio(target, np.concatenate(parts), rate)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="a folder of EmoDB WAV clips")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from engine.models.catalog import ModelCatalog
    from engine.userdirs import bundled_model_dir
    from gui.main_window import MainWindow
    from gui.settings import Settings

    app = QApplication([])
    out, data = Path(args.out), Path(args.data)
    scratch = Path(tempfile.mkdtemp(prefix="earmark-spectrogram-shots-"))
    clips = sorted(data.glob("03*.wav"))
    if not clips:
        parser.error(f"no WAV clips of speaker 03 in {data}")
    catalog = ModelCatalog([("shipped", bundled_model_dir())])
    catalog.refresh()
    window = MainWindow(Settings.at(scratch / "settings.ini"), catalog, use_audio_device=False)
    window.resize(*SIZE)
    window.show()

    file_view = window.file_view
    window.tabs.setCurrentWidget(file_view)
    done = []
    file_view.classified.connect(done.append)
    file_view.loaded.connect(done.append)
    file_view.open_file(_joined(clips, scratch / "emodb-speaker03.wav", 12.0))
    _wait(app, lambda: len(done) >= (2 if catalog.classifier is not None else 1), 60)
    _choose(file_view.spectrogram_settings, 1024, "blackman", 0.875)
    _wait(app, lambda: file_view.spectrogram._db is not None and file_view.spectrogram._db.shape[1] == 513, 30)
    _wait(app, lambda: False, 0.5)
    window.grab().save(str(out / "file_spectrogram_settings.png"))

    annotate = window.annotate_view
    window.tabs.setCurrentWidget(annotate)
    annotate.open_file(_joined(clips, scratch / "emodb-speaker03-long.wav", 40.0))
    _choose(annotate.spectrogram_settings, 2048, "hamming", 0.875)
    _wait(app, lambda: annotate.spectrogram.data is not None and annotate.spectrogram.data.n_fft == 2048, 30)
    annotate.zoom_to(2.0, 6.0)
    _wait(app, lambda: annotate.spectrogram.data is not None and abs(annotate.spectrogram.data.start_s - 2.0) < 1e-3
          and annotate.spectrogram.data.window == "hamming", 30)
    _wait(app, lambda: False, 0.5)
    window.grab().save(str(out / "annotate_spectrogram_settings.png"))

    audit = window.audit_view
    if audit is not None:
        root = scratch / "emodb"
        (root / "wav").mkdir(parents=True)
        for clip in sorted(data.glob("*.wav"))[:24]:
            shutil.copy(clip, root / "wav" / clip.name)
        window.tabs.setCurrentWidget(audit)
        audit.autoplay_check.setChecked(False)
        opened = []
        audit.opened.connect(opened.append)
        audit.open_dataset(root, "emodb")
        _wait(app, lambda: bool(opened) and audit.clip_panel.spectrogram._db is not None, 60)
        panel = audit.clip_panel
        _choose(panel.spectrogram_settings, 256, "hann", 0.875)
        _wait(app, lambda: panel.spectrogram._db.shape[1] == 129, 30)
        _wait(app, lambda: False, 0.5)
        window.grab().save(str(out / "audit_spectrogram_settings.png"))
        audit.shutdown()
    window.close()
    print(f"wrote the spectrogram settings screenshots to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
