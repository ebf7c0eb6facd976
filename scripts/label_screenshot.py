"""The Label window at 1366x768, for docs/INDEX.md (issue 26): its two pages,

    .venv/bin/python scripts/label_screenshot.py [--out-dir docs/screenshots]

writes ``label_hits.png`` (More like this: the hits of a "low" region, a few labelled) and
``label_queue.png`` (What to label next: a page of tiles, two labelled). Runs offscreen on a real
index: six 10 s recordings with tone bursts and the tone model of the tests
(tests/engine/index/helpers.py), indexed by ``engine.index.build.index_job``.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from engine.index.build import IndexRequest, index_job
    from gui.index.label_view import LabelWindow
    from tests.engine.index.helpers import BURST_S, LOW_AT_S, write_folder, write_model

    app = QApplication([])
    scratch = Path(tempfile.mkdtemp(prefix="earmark-label-"))
    folder = write_folder(scratch / "field-recordings")
    index_job(IndexRequest(folder, write_model(scratch / "tones.onnx"), out=scratch / "field-recordings-index"))
    window = LabelWindow(scratch / "field-recordings-index", use_audio_device=False)
    window.resize(*SIZE)
    window.show()
    view = window.view
    if not _wait(app, lambda: view.queue_session is not None and bool(view.queue_session.items), 60):
        print("the index did not open", file=sys.stderr)
        return 1
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    view.more_like_this(str(folder / "r0.wav"), LOW_AT_S, LOW_AT_S + BURST_S, "low")
    _wait(app, lambda: bool(view.hits_session.items) and len(view.hits_panel.tiles) > 0, 30)
    for _ in range(5):
        view.hits_session.accept()
    view.hits_session.background()
    view.hits_session.flush(10)
    _wait(app, lambda: all(h.saved for h in view.hits_session.items[:6]), 10)
    _wait(app, lambda: False, 0.5)          # the saved marks reach the list through queued signals
    window.grab().save(str(out / "label_hits.png"))

    view.tabs.setCurrentWidget(view.queue_panel)
    view.show_queue(0)
    _wait(app, lambda: "queue" not in view.workers and len(view.queue_panel.tiles) >= len(view.queue_session.items) > 0, 30)
    view.queue_session.background()
    view.queue_session.label(1, "hum")
    view.queue_session.flush(10)
    _wait(app, lambda: all(q.saved for q in view.queue_session.items[:2]), 10)
    _wait(app, lambda: False, 0.5)
    window.grab().save(str(out / "label_queue.png"))
    print(f"{out / 'label_hits.png'}, {out / 'label_queue.png'}: {window.width()}x{window.height()}")
    window.close()
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
