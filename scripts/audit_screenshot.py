"""Screenshot of the Audit tab on real EmoDB clips: suspects ranked, the top one selected, saliency shown.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/audit_screenshot.py \
        --data ../shared/data/emodb-2s --out docs/screenshots/audit_view.png

The edits file is written into a temporary copy-free location: the view opens the data set
read-only and this script makes no edits, so nothing is written beside the data set.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/emodb-2s"))
    parser.add_argument("--layout", default="emodb")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs/screenshots/audit_view.png"))
    parser.add_argument("--suspect", type=int, default=0, help="which suspect to select (0 = the top one)")
    args = parser.parse_args(argv)

    import pyqtgraph as pg
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from gui.audit_view import AuditView

    app = QApplication.instance() or QApplication([])
    pg.setConfigOptions(antialias=True)
    view = AuditView(use_audio_device=False, autoplay=False, folds=5, seed=0)
    view.resize(1600, 900)
    view.setWindowTitle("Earmark — Audit")

    def wait(signal_owner_check, timeout_ms: int) -> None:
        loop = QEventLoop()
        timer = QTimer()
        timer.timeout.connect(lambda: loop.quit() if signal_owner_check() else None)
        timer.start(50)
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()
        timer.stop()

    view.open_dataset(args.data, args.layout)  # a job: wait for it
    wait(lambda: view.session.base is not None or bool(view.message_label.text()), 120_000)
    if view.session.base is None:
        print(view.message_label.text(), file=sys.stderr)
        return 1
    view.show()

    view.rank_suspects()
    wait(lambda: view.session.result is not None or "failed" in view.message_label.text(), 600_000)
    if view.session.result is None:
        print(f"ranking did not finish: {view.message_label.text()}", file=sys.stderr)
        return 1
    view.select_proxy_row(args.suspect)
    wait(lambda: view.clip_panel.saliency_shown, 60_000)
    for column in range(view.model.columnCount()):
        view.table.resizeColumnToContents(column)
    app.processEvents()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    ok = view.grab().save(args.out)
    print(f"{'wrote' if ok else 'could not write'} {args.out}; selected {view.current_key()}")
    view.shutdown()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
