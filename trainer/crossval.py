"""Cross-validation and split previews: the one place folds are made, trained and combined.

``main.py train --folds K`` and the wizard's k-fold run both call :func:`cross_validate`
with a :class:`trainer.recipe.TrainRequest`; the wizard's split page shows
:func:`describe_splits` of the same :func:`make_splits`, so what it shows is what is
trained. Each fold is one ``trainer.job.run`` into ``<out>/fold<i>``; the folds are
pooled into one ``metrics.json`` (mean ± std over folds × seeds) with the best fold's
model as ``model.onnx``.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.atomic import atomic_write_json
from engine.jobs import CancelToken, Progress, ignore_progress
from trainer.recipe import TrainRequest


def make_splits(manifest, *, mode: str, by: str = "group", k: int = 5, val_fraction: float = 0.2,
                val_fold: int | None = None, seed: int = TrainRequest.split_seed) -> list:
    """The splits of a hold-out (one) or k-fold (k) scheme, grouped by the clips' ``group``
    (``by="group"``) or by the data set's own folds (``by="fold"``). Raises ValueError."""
    from trainer.splits import grouped_split, kfold

    if by == "fold":
        folds = sorted({c.fold for c in manifest.clips if c.fold is not None})
        if not folds:
            raise ValueError(f"{manifest.root}: the data set has no folds; group the split another way")
        chosen = folds if mode == "kfold" else [val_fold if val_fold is not None else folds[-1]]
        return [grouped_split(manifest, "fold", val_fold=f) for f in chosen]
    if mode == "kfold":
        return kfold(manifest, k, seed)
    return [grouped_split(manifest, "group", val_fraction, seed)]


def describe_splits(manifest, splits, *, mode: str, column: str) -> dict[str, Any]:
    """The splits (or folds) and the leakage audit of each, as plain data for a person."""
    from trainer.splits import leakage_audit

    described = []
    for split in splits:
        if not split.train or not split.val:
            raise ValueError(f"a split leaves {len(split.train)} training and {len(split.val)} validation clips")
        report = leakage_audit([manifest.clips[i] for i in split.train], [manifest.clips[i] for i in split.val])
        described.append({"val_groups": list(split.val_groups), "val_fold": split.val_fold,
                          "sizes": split.sizes(), "leakage_count": report.count,
                          "leaking_groups": list(report.groups),
                          "val_class_counts": dict(Counter(manifest.clips[i].label for i in split.val)),
                          "train_class_counts": dict(Counter(manifest.clips[i].label for i in split.train))})
    first = described[0]
    return {**first, "mode": mode, "column": column, "leakage_count": sum(d["leakage_count"] for d in described),
            "folds": described if mode == "kfold" else []}


def cross_validate(request: TrainRequest, *, on_progress: Callable[[Progress], None] = ignore_progress,
                   cancel: CancelToken | None = None):
    """Train one run per fold of ``request.folds``-fold CV and pool them; returns a RunResult."""
    from engine.manifest import read_manifest
    from trainer.job import RunResult, run

    if not request.folds:
        raise ValueError("cross_validate needs request.folds (k >= 2)")
    cancel = cancel or CancelToken()
    out = Path(request.out)
    manifest = read_manifest(request.data, request.layout)
    splits = make_splits(manifest, mode="kfold", by=request.cv_by, k=request.folds, seed=request.split_seed)
    k = len(splits)
    atomic_write_json(out / "config.json", request.to_json())
    on_progress(Progress("split", 1, 1, f"{k}-fold cross-validation by {request.cv_by}", fraction=0.0))
    docs, started = [], time.monotonic()
    for i, split in enumerate(splits, start=1):
        cancel.raise_if_cancelled("cross-validation")
        fold_request = replace(request, out=str(out / f"fold{i}"), folds=None,
                               val_fold=split.val_fold if request.cv_by == "fold" else None,
                               val_groups=None if request.cv_by == "fold" else tuple(split.val_groups))
        fold_started = time.monotonic()
        on_fold = _fold_progress(on_progress, i, k, started, fold_started)
        docs.append(run(fold_request, on_progress=on_fold, cancel=cancel).metrics)
    doc = combine_folds(docs, out)
    on_progress(Progress("done", 1, 1, f"{k} folds pooled into {out / 'metrics.json'}", fraction=1.0))
    return RunResult(out, doc, out / "model.onnx", doc["best_seed"],
                     [tuple(s) for d in docs for s in d.get("skipped", [])])


def _fold_progress(on_progress, i: int, k: int, started: float, fold_started: float):
    """Fold ``i``'s reports: messages prefixed, fraction and ETA over the whole run."""
    def report(p: Progress) -> None:
        fraction = None if p.fraction is None else (i - 1 + p.fraction) / k
        eta_s = p.eta_s
        if eta_s is not None:   # this fold's rest, plus the folds to come at this fold's pace
            eta_s += (k - i) * (time.monotonic() - fold_started + eta_s)
        on_progress(replace(p, message=f"fold {i}/{k}: {p.message}", fraction=fraction, eta_s=eta_s))
    return report


def combine_folds(docs: list[dict[str, Any]], run_dir: Path) -> dict[str, Any]:
    """One metrics.json for k-fold: every fold's seeds pooled, the best fold's model kept."""
    from trainer import metrics

    run_dir = Path(run_dir)
    labels = docs[0]["labels"]
    per_seed = [{**m, "fold": i} for i, d in enumerate(docs, start=1) for m in d["per_seed"]]
    best_fold = max(range(len(docs)), key=lambda i: docs[i]["summary"]["accuracy"]["mean"] or 0.0) + 1
    source = run_dir / f"fold{best_fold}"
    shutil.copy2(source / "model.onnx", run_dir / "model.onnx")
    if (source / "val_predictions.csv").is_file():
        shutil.copy2(source / "val_predictions.csv", run_dir / "val_predictions.csv")
    doc = {"labels": labels, "per_seed": per_seed, "summary": metrics.aggregate(per_seed, labels),
           "split": {"strategy": "kfold", "k": len(docs), "folds": [d["split"] for d in docs]},
           "split_sizes": docs[best_fold - 1]["split_sizes"],
           "leakage_count": sum(d["leakage_count"] for d in docs), "seeds": docs[0]["seeds"],
           "best_seed": docs[best_fold - 1]["best_seed"], "best_fold": best_fold, "model": docs[0]["model"],
           "layout": docs[0]["layout"], "export": {**docs[best_fold - 1].get("export", {}), "fold": best_fold}}
    atomic_write_json(run_dir / "metrics.json", doc)
    return doc
