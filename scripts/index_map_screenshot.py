"""The index map at 1366x768 with 100,000 windows, for docs/INDEX.md (issue 26):

    .venv/bin/python scripts/index_map_screenshot.py [--out docs/screenshots/index_map.png] [--rows 100000]

Runs offscreen. The index is synthetic (random unit vectors clustered by label, written through
engine.index.store as tests/engine/index/helpers.py does), so no model or audio is needed; a real
index looks the same, with its own labels and recordings.
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

SIZE = (1366, 768)
LABELS = ("speech", "birdsong", "dog bark", "rain", "traffic", "music", "wind", "silence")




def _write_window_audio(folder: Path, recording: str, start_s: float, end_s: float) -> None:
    """The synthetic index has no audio: write the chosen window's recording (quiet noise, with
    a falling whistle in the window) so the preview shows and plays a real tile."""
    import numpy as np
    import soundfile as sf

    rate = 16000
    path = folder / recording
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as out:
        for _ in range(0, int((end_s + 1) * rate), 60 * rate):
            out.write((0.003 * rng.standard_normal(60 * rate)).astype(np.float32))
    with sf.SoundFile(path, "r+") as audio:
        t = np.arange(int((end_s - start_s) * rate)) / rate
        freq = 3000 - 1500 * t / t[-1]
        audio.seek(int(start_s * rate))
        audio.write((0.3 * np.sin(2 * np.pi * np.cumsum(freq) / rate)).astype(np.float32))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots" / "index_map.png"))
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from gui.index.map_view import IndexMapWindow
    from tests.engine.index.helpers import write_synthetic_index

    app = QApplication([])
    scratch = Path(tempfile.mkdtemp(prefix="earmark-index-map-"))
    root = write_synthetic_index(scratch / "field-recordings-index", args.rows, dim=64, labels=LABELS,
                                 recordings=40, window_s=1.0, hop_s=0.5)
    window = IndexMapWindow(root)
    window.resize(*SIZE)
    window.show()
    if not _wait(app, lambda: window.view.projection is not None, 120):
        print("the projection did not finish", file=sys.stderr)
        return 1
    view = window.view
    chosen = int(len(view.projection) * 0.37)
    _write_window_audio(Path(view.projection.folder), *view.projection.window_of(chosen))
    view.choose(chosen)
    _wait(app, lambda: view.preview.tile is not None, 20)
    _wait(app, lambda: False, 0.5)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(args.out)
    # the same map with a cluster lassoed (as a Shift+drag leaves it) and a label typed
    import numpy as np

    xy = view.projection.xy
    centre = xy[view.projection.answer == 0].mean(axis=0)
    spread = xy.std(axis=0) * 0.35
    angles = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    view.select_loop(np.c_[centre[0] + spread[0] * np.cos(angles), centre[1] + spread[1] * np.sin(angles)])
    view.label_edit.setText(LABELS[0])
    _wait(app, lambda: False, 0.5)
    lasso_out = Path(args.out).with_name(Path(args.out).stem + "_lasso.png")
    window.grab().save(str(lasso_out))
    print(lasso_out)
    print(f"{args.out}: {window.width()}x{window.height()}, {view.point_count():,} dots")
    window.close()
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
