"""How much of a speaker's audio a calibration needs, measured on a `train --folds K` run.

Each fold's refit scores its test clips (ONNX Runtime, `OnnxClassifier.classify`) uncalibrated,
calibrated to all of the clip's speaker's test clips, to the clip alone, and to N clips of the
speaker drawn at random (seed 0). Prints pooled macro F1 for each (docs/EMODB_MODEL.md).

    .venv/bin/python scripts/calibration_amount.py --run /tmp/emodb_cv4_spk
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.audio.io import load_audio  # noqa: E402
from engine.models.classifier import OnnxClassifier  # noqa: E402

COUNTS = (5, 10, 20)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, type=Path, help="a finished speaker-normalised `train --folds K` run")
    args = p.parse_args(argv)
    k = json.loads((args.run / "metrics.json").read_text(encoding="utf-8"))["split"]["k"]
    rng = np.random.default_rng(0)
    y, predicted = [], {name: [] for name in ("uncalibrated", "speaker", "clip", *map(str, COUNTS))}
    for i in range(1, k + 1):
        fold = args.run / f"fold{i}" / "refit"
        model = OnnxClassifier.load(fold / "model.onnx")
        with open(fold / "test_predictions.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        audio = {r["path"]: load_audio(r["path"], model.meta.sample_rate_hz).samples for r in rows}
        by_speaker = {s: [r["path"] for r in rows if r["speaker"] == s] for s in {r["speaker"] for r in rows}}
        speaker_stats = {s: model.calibrate([audio[p] for p in paths]) for s, paths in by_speaker.items()}
        for r in rows:
            clip, same = audio[r["path"]], by_speaker[r["speaker"]]
            y.append(model.labels.index(r["true_label"]))
            stats = {"uncalibrated": None, "speaker": speaker_stats[r["speaker"]], "clip": model.calibrate([clip])}
            for n in COUNTS:
                pick = rng.choice(len(same), size=min(n, len(same)), replace=False)
                stats[str(n)] = model.calibrate([audio[same[j]] for j in pick])
            for name, s in stats.items():
                predicted[name].append(int(model.calibrated(s).classify(clip).argmax()))
    for name, pred in predicted.items():
        print(f"{name:>12}: pooled macro F1 {f1_score(y, pred, average='macro'):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
