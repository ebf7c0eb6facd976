"""Measure the audit: flip 5% of a data set's labels at random (seeded) and see where they rank.

    .venv/bin/python scripts/audit_emodb_flip.py --data ../shared/data/emodb-2s --layout emodb \
        --fraction 0.05 --seeds 0 1 2 3 4

For each seed: draw the flipped subset, give each a different random class, run the headless
audit (grouped 5-fold cross-validation of trainer.audit.rank's ensemble + cleanlab's label-quality
ranking) on the corrupted labels, and report the recall of flipped clips among the top-k suspects
(k = number flipped, and 2k), among cleanlab's issues, the out-of-fold accuracy against the true
labels, and the wall and CPU seconds of each audit. Nothing on disk is modified.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.datasets.manifest import read_manifest  # noqa: E402
from trainer.audit.rank import rank_suspects  # noqa: E402


def flip_labels(manifest, fraction: float, seed: int):
    rng = np.random.default_rng(seed)
    n = len(manifest.clips)
    flipped = np.sort(rng.choice(n, max(1, round(fraction * n)), replace=False))
    clips = list(manifest.clips)
    for i in flipped:
        others = [label for label in manifest.labels if label != clips[i].label]
        clips[i] = replace(clips[i], label=others[int(rng.integers(len(others)))])
    return manifest.with_clips(clips), flipped


def measure(manifest, fraction: float, seed: int, folds: int) -> dict:
    true = np.array([manifest.labels.index(c.label) for c in manifest.clips])
    corrupted, flipped = flip_labels(manifest, fraction, seed)
    start, cpu = time.perf_counter(), time.process_time()
    result = rank_suspects(corrupted, folds=folds, seed=seed)
    k = len(flipped)
    return {
        "seed": seed, "n_clips": len(true), "n_flipped": k,
        "recall_at_k": float(np.isin(flipped, result.order[:k]).mean()),
        "recall_at_2k": float(np.isin(flipped, result.order[: 2 * k]).mean()),
        "recall_in_issues": float(result.is_issue[flipped].mean()),
        "n_issues": int(result.is_issue.sum()),
        "oof_accuracy_vs_true": float((result.predicted == true).mean()),
        "seconds": round(time.perf_counter() - start, 1), "cpu_seconds": round(time.process_time() - cpu, 1),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/emodb-2s"))
    parser.add_argument("--layout", default="emodb")
    parser.add_argument("--fraction", type=float, default=0.05)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    manifest = read_manifest(args.data, args.layout, use_edits=False)
    runs = []
    for seed in args.seeds:
        run = measure(manifest, args.fraction, seed, args.folds)
        runs.append(run)
        print(json.dumps(run))
    summary = {key: (float(np.mean([r[key] for r in runs])), float(np.std([r[key] for r in runs])))
               for key in ("recall_at_k", "recall_at_2k", "recall_in_issues", "oof_accuracy_vs_true")}
    for key, (mean, std) in summary.items():
        print(f"{key}: {mean:.3f} ± {std:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "runs": runs, "summary": summary}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
