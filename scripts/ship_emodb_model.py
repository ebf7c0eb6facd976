"""Ship the EmoDB emotion model into models_onnx/ from a `main.py train --folds K` run.

The run (the default recipe, nested cross-validation by speaker) pools every clip's
out-of-fold prediction into its figures and refits the model that ships on all clips; its
metadata already carries the pooled figures and the recipe. This script checks the refit's
ONNX file the way a user would meet it — `engine.models.classifier.OnnxClassifier.classify` on every
clip's file, against the PyTorch model's predictions the run wrote (`refit_predictions.csv`)
and, for each fold, the fold model's ONNX file against its `test_predictions.csv` — then
copies the refit into models_onnx/ and prints the figures for docs/EMODB_MODEL.md.

    .venv/bin/python main.py train --data ../shared/data/emodb-2s --folds 8 --out /tmp/emodb_cv8
    .venv/bin/python scripts/ship_emodb_model.py --run /tmp/emodb_cv8
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.audio.io import load_audio  # noqa: E402
from engine.models.classifier import OnnxClassifier  # noqa: E402

SHIPPED_NAME = "emodb_vgg4.onnx"


def agreement(model_path: Path, predictions_csv: Path) -> tuple[int, int, float]:
    """(agreeing labels, clips, largest probability difference): ONNX `classify` vs PyTorch.

    A speaker-normalised model's CSV names each clip's speaker: the ONNX model is calibrated
    to each speaker over that speaker's files, as `classify --calibrate` on them does."""
    model = OnnxClassifier.load(model_path)
    with open(predictions_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rate_hz = model.meta.sample_rate_hz
    audio = {row["path"]: load_audio(row["path"], rate_hz).samples for row in rows}
    stats = {}
    if rows and "speaker" in rows[0]:
        for speaker in sorted({row["speaker"] for row in rows}):
            stats[speaker] = model.calibrate([audio[r["path"]] for r in rows if r["speaker"] == speaker])
    agree, worst = 0, 0.0
    for row in rows:
        model.set_calibration(stats.get(row.get("speaker")))
        probs = model.classify(audio[row["path"]])
        torch_probs = np.array([float(row[f"p_{label}"]) for label in model.labels])
        agree += model.labels[int(np.argmax(probs))] == row["predicted_label"]
        worst = max(worst, float(np.max(np.abs(probs - torch_probs))))
    return agree, len(rows), worst


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, type=Path, help="a finished `main.py train --folds K` run folder")
    p.add_argument("--dest", type=Path, default=ROOT / "models_onnx", help="where the model ships (default: %(default)s)")
    args = p.parse_args(argv)
    doc = json.loads((args.run / "metrics.json").read_text(encoding="utf-8"))
    if doc.get("evaluation", {}).get("scheme") != "nested_cv":
        raise SystemExit(f"{args.run}: not a cross-validation run (train --folds K)")
    checks = {"refit (every clip)": agreement(args.run / "model.onnx", args.run / "refit_predictions.csv")}
    for i in range(1, doc["split"]["k"] + 1):
        chooser = args.run / f"fold{i}"
        checks[f"fold {i} choosing run (its validation clips)"] = agreement(chooser / "model.onnx",
                                                                           chooser / "val_predictions.csv")
        fold = args.run / f"fold{i}" / "refit"
        fold = fold if (fold / "test_predictions.csv").is_file() else args.run / f"fold{i}"
        checks[f"fold {i} (its test clips)"] = agreement(fold / "model.onnx", fold / "test_predictions.csv")
    for name, (agree, n, worst) in checks.items():
        print(f"classify vs PyTorch, {name}: {agree}/{n} labels agree, largest probability difference {worst:.1e}")
    if any(agree != n for agree, n, _ in checks.values()):
        raise SystemExit("the ONNX model disagrees with PyTorch: not shipped")
    meta = OnnxClassifier.load(args.run / "model.onnx").meta.raw
    args.dest.mkdir(parents=True, exist_ok=True)
    for old in args.dest.glob("emodb_*.onnx"):
        old.unlink()
    shutil.copy2(args.run / "model.onnx", args.dest / SHIPPED_NAME)
    pooled = doc["pooled"]
    print(f"shipped {args.dest / SHIPPED_NAME}: pooled out-of-fold macro F1 {pooled['macro_f1']:.3f}, accuracy "
          f"{pooled['accuracy']:.3f}, AUC {pooled['auc_ovr']:.3f} over {pooled['n_clips']} clips; "
          f"per fold {[round(f['macro_f1'], 3) for f in doc['per_fold']]}; refit for "
          f"{doc['export']['refit_epochs']} epochs; metadata evaluation: {meta['evaluation']['scheme']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
