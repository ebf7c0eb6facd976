"""Screenshots of the training wizard on real EmoDB clips (../shared/data/emodb-2s).

    .venv/bin/python scripts/wizard_screenshots.py [--data DIR] [--out docs/screenshots]

Writes wizard_augment.png (the augmentation preview of a real clip), wizard_training.png
(the training page with live curves, taken mid-run) and wizard_results.png (the results
page with a confusion-matrix cell opened). Runs, models and the feature cache go to a
temporary folder; nothing is written to the user's folders.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "emodb-2s"
PREVIEW_CLIP = "03a01Fa.wav"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seeds", default="42 123")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="earmark-shots-"))
    for key, sub in (("EARMARK_RUNS_DIR", "runs"), ("EARMARK_USER_MODELS", "models"), ("EARMARK_CACHE_DIR", "cache")):
        os.environ[key] = str(tmp / sub)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    import torch
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from gui.wizard.wizard import TrainWizard

    torch.set_num_threads(args.threads)   # two threads on a busy two-core machine crawl

    app = QApplication.instance() or QApplication([])
    args.out.mkdir(parents=True, exist_ok=True)
    wizard = TrainWizard(None, runs_root=tmp / "runs")
    wizard.resize(1280, 820)
    wizard.show()
    if not wizard.data_page.choose(args.data):
        raise SystemExit(f"cannot use {args.data}: {wizard.data_page.error_label.text()}")
    wizard.next()
    _wait(app, wizard.split_page.isComplete)        # previews and torch load in worker threads
    wizard.next()
    shoot_augment(wizard, app, args.out / "wizard_augment.png")
    wizard.next()
    model = wizard.model_page
    _wait(app, model.ready)
    model.model_combo.setCurrentText("cnn")
    model.epochs_spin.setValue(args.epochs)
    model.seeds_edit.setText(args.seeds)
    wizard.next()
    if wizard.currentPage() is not wizard.train_page:
        raise SystemExit(f"stuck on {wizard.currentPage().title()}: {model.error_label.text()}")
    shoot_training_and_results(wizard, app, args, QEventLoop, QTimer)
    wizard.close()
    print(f"screenshots in {args.out}; run folder {wizard.session.run_dir}")
    return 0


def _wait(app, condition, timeout_s: float = 120.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("the wizard did not get ready in time")
        app.processEvents()
        time.sleep(0.01)


def shoot_augment(wizard, app, path: Path) -> None:
    page = wizard.augment_page
    for name in ("noise", "pitch_shift", "time_stretch", "reverb", "gain"):
        page.editor(name).setChecked(True)
    page.editor("pitch_shift").set_range("semitones", 2.0, 3.0)
    page.editor("time_stretch").set_range("rate", 0.8, 0.85)
    index = page.clip_combo.findText(PREVIEW_CLIP, flags=_match_contains())
    page.clip_combo.setCurrentIndex(max(0, index))
    page.preview_button.click()
    _wait(app, lambda: not page.busy())
    app.processEvents()
    save(wizard, app, path)
    for name in ("pitch_shift", "time_stretch", "reverb"):   # keep the run quick: cheap variants only
        page.editor(name).setChecked(False)


def shoot_training_and_results(wizard, app, args, QEventLoop, QTimer) -> None:  # noqa: N803 - Qt classes
    page = wizard.train_page
    loop = QEventLoop()
    seeds = [int(s) for s in args.seeds.split()]
    shot = []

    def on_progress(p) -> None:
        if not shot and p.seed == seeds[-1] and p.epoch and p.epoch >= max(2, args.epochs // 2) \
                and p.stage == "train" and "val_loss" not in p.metrics:
            QTimer.singleShot(50, lambda: (save(wizard, app, args.out / "wizard_training.png"), shot.append(1)))

    page.worker.progressed.connect(on_progress)
    for signal in (page.worker.finished, page.worker.failed, page.worker.cancelled):
        signal.connect(lambda *_: loop.quit())
    loop.exec()
    if page.state != "finished":
        raise SystemExit(f"training did not finish: {page.error_label.text()}")
    wizard.next()
    panel = wizard.results_page.panel
    matrix = panel.matrix.matrix
    row = max(range(len(matrix)), key=lambda r: sum(matrix[r]) - matrix[r][r])
    col = max((c for c in range(len(matrix)) if c != row), key=lambda c: matrix[row][c])
    panel.matrix.setCurrentCell(row, col)
    panel.matrix.cellClicked.emit(row, col)
    app.processEvents()
    save(wizard, app, args.out / "wizard_results.png")


def save(widget, app, path: Path) -> None:
    for _ in range(5):
        app.processEvents()
    if not widget.grab().save(str(path)):
        raise SystemExit(f"could not write {path}")
    print(f"wrote {path}")


def _match_contains():
    from PySide6.QtCore import Qt

    return Qt.MatchContains


if __name__ == "__main__":
    raise SystemExit(main())
