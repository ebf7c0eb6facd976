"""Nested cross-validation and split previews: the one place folds are made, trained and pooled.

``main.py train --folds K`` and the wizard's k-fold run both call :func:`cross_validate`
with a :class:`trainer.recipe.TrainRequest`; the wizard's split page shows
:func:`describe_splits` of the same :func:`make_splits`, so what it shows is what is
trained. Each outer fold is one hold-out ``trainer.run.job.run`` into ``<out>/fold<i>`` whose
test side is that fold's groups (untouched by anything in its run) and whose validation
side, drawn from the other groups, chooses its epoch and seed. The folds' test predictions
are pooled over every clip into the headline figure. The model that ships is never a fold's:
it is refit on every clip for the median of the epochs the validation sides chose
(``<out>/refit``), and carries the pooled figures in its metadata.
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from engine.atomic import atomic_write_json
from engine.jobs import CancelToken, Progress, ignore_progress
from engine.models.thresholds import fit as fit_thresholds
from trainer.recipe import TrainRequest


def make_splits(manifest, *, mode: str, by: str = "group", k: int = 5, val_fraction: float = 0.2,
                val_fold: int | None = None, seed: int = TrainRequest.split_seed,
                test_fraction: float = TrainRequest.test_fraction) -> list:
    """The splits of a hold-out (one, three ways) or nested k-fold (k) scheme, grouped by the
    clips' ``group`` (``by="group"``) or by the data set's own folds (``by="fold"``)."""
    from trainer.data.splits import nested_folds, three_way_split

    if mode == "kfold":
        return nested_folds(manifest, k, by=by, val_fraction=val_fraction, seed=seed)
    strategy = "fold" if by == "fold" else "auto"
    if strategy == "auto" and manifest.layout != "emodb":
        strategy = "group"
    return [three_way_split(manifest, strategy, test_fraction=test_fraction, val_fraction=val_fraction,
                            seed=seed, val_fold=val_fold)]


def describe_splits(manifest, splits, *, mode: str, column: str) -> dict[str, Any]:
    """The splits (or folds) and the leakage audit of each, as plain data for a person."""
    from trainer.data.splits import leakage_audit

    described = []
    for split in splits:
        clips = manifest.clips
        leaks = [leakage_audit([clips[i] for i in a], [clips[i] for i in b])
                 for a, b in ((split.train, split.val), (split.train, split.test), (split.val, split.test))]
        described.append({"val_groups": list(split.val_groups), "test_groups": list(split.test_groups),
                          "val_fold": split.val_fold, "test_fold": split.test_fold, "sizes": split.sizes(),
                          "leakage_count": sum(r.count for r in leaks),
                          "leaking_groups": sorted({g for r in leaks for g in r.groups}),
                          "test_class_counts": dict(Counter(clips[i].label for i in split.test)),
                          "val_class_counts": dict(Counter(clips[i].label for i in split.val)),
                          "train_class_counts": dict(Counter(clips[i].label for i in split.train))})
    first = described[0]
    return {**first, "mode": mode, "column": column, "leakage_count": sum(d["leakage_count"] for d in described),
            "folds": described if mode == "kfold" else []}


def cross_validate(request: TrainRequest, *, on_progress: Callable[[Progress], None] = ignore_progress,
                   cancel: CancelToken | None = None):
    """Nested ``request.folds``-fold CV, pooled, then the refit that ships; returns a RunResult."""
    from trainer.data.grouping import training_manifest
    from trainer.run.job import RunResult, run

    if not request.folds:
        raise ValueError("cross_validate needs request.folds (k >= 2)")
    cancel = cancel or CancelToken()
    out = Path(request.out)
    manifest, _grouping = training_manifest(request.data, request.layout)
    splits = make_splits(manifest, mode="kfold", by=request.cv_by, k=request.folds, seed=request.split_seed,
                         val_fraction=request.val_fraction)
    k = len(splits)
    atomic_write_json(out / "config.json", request.to_json())
    on_progress(Progress("split", 1, 1, f"nested {k}-fold cross-validation by {request.cv_by}", fraction=0.0))
    docs, started = [], time.monotonic()
    per_fold = 2 if request.refit_folds else 1
    steps = k * per_fold + 1   # the folds (each chosen on validation, then refit), then the refit
    for i, split in enumerate(splits, start=1):
        cancel.raise_if_cancelled("cross-validation")
        by_fold = request.cv_by == "fold"
        fold_request = replace(request, out=str(out / f"fold{i}"), folds=None,
                               test_fold=split.test_fold if by_fold else None,
                               test_groups=None if by_fold else tuple(split.test_groups),
                               val_groups=tuple(split.val_groups), val_fold=None)
        step = (i - 1) * per_fold + 1
        on_fold = _fold_progress(on_progress, step, steps, f"fold {i}/{k}", started, time.monotonic())
        chosen = run(fold_request, on_progress=on_fold, cancel=cancel).metrics
        if request.refit_folds:
            docs.append(_refit_fold(fold_request, chosen, i, k, step + 1, steps, on_progress, started, cancel))
        else:
            docs.append(chosen)
    doc = combine_folds(docs, out, manifest)
    epochs = refit_epochs(docs)
    cancel.raise_if_cancelled("cross-validation")
    refit_request = replace(request, out=str(out / "refit"), folds=None, refit_epochs=epochs,
                            seeds=request.seeds[:1])
    on_refit = _fold_progress(on_progress, steps, steps, f"refit on all clips ({epochs} epochs)", started,
                              time.monotonic())
    refit = run(refit_request, on_progress=on_refit, cancel=cancel, report=shipped_report(doc))
    _adopt_refit(out, refit, doc, epochs)
    on_progress(Progress("done", 1, 1, f"{k} folds pooled into {out / 'metrics.json'}; the model refit on every "
                         f"clip is {out / 'model.onnx'}", fraction=1.0))
    return RunResult(out, doc, out / "model.onnx", refit.best_seed,
                     [tuple(s) for d in docs for s in d.get("skipped", [])])


def _refit_fold(fold_request: TrainRequest, chosen: dict[str, Any], i: int, k: int, step: int, steps: int,
                on_progress, started: float, cancel: CancelToken) -> dict[str, Any]:
    """Fold ``i``'s test figures from a refit on all its non-test groups (validation included) for
    the epochs and with the seed its validation side chose: the shipped model is made the same
    way, so the pooled figures measure it. Validation figures stay those of the choosing run."""
    from trainer.run import evaluation
    from trainer.run.job import run

    epochs = refit_epochs([chosen])
    refit_request = replace(fold_request, out=str(Path(fold_request.out) / "refit"), refit_epochs=epochs,
                            val_groups=None, seeds=(int(chosen["best_seed"]),))
    on_refit = _fold_progress(on_progress, step, steps, f"fold {i}/{k} refit ({epochs} epochs)", started,
                              time.monotonic())
    tested = run(refit_request, on_progress=on_refit, cancel=cancel).metrics
    by_seed = {m["seed"]: m for m in chosen["per_seed"]}
    per_seed = [{**m, "val": by_seed[m["seed"]].get("val"), "best_epoch": by_seed[m["seed"]]["best_epoch"],
                 "best_val_loss": by_seed[m["seed"]]["best_val_loss"]} for m in tested["per_seed"]]
    sizes = {**tested["split_sizes"], "val_clips": chosen["split_sizes"]["val_clips"]}
    return {**tested, "per_seed": per_seed, **evaluation.summaries(per_seed, chosen["labels"]),
            "val_groups": chosen["val_groups"], "split": {**chosen["split"], "refit": tested["split"]},
            "split_sizes": sizes, "leakage_count": chosen["leakage_count"] + tested["leakage_count"],
            "refit_epochs": epochs}


def refit_epochs(docs: list[dict[str, Any]]) -> int:
    """The epoch count the validation sides chose: the median of every fold's and seed's best epoch."""
    chosen = [int(m["best_epoch"]) for d in docs for m in d["per_seed"] if m.get("best_epoch")]
    return max(1, int(round(statistics.median(chosen)))) if chosen else 1


def _fold_progress(on_progress, i: int, steps: int, name: str, started: float, fold_started: float):
    """Step ``i``'s reports: messages prefixed, fraction and ETA over the whole run."""
    def report(p: Progress) -> None:
        fraction = None if p.fraction is None else (i - 1 + p.fraction) / steps
        eta_s = p.eta_s
        if eta_s is not None:   # this step's rest, plus the steps to come at this step's pace
            eta_s += (steps - i) * (time.monotonic() - fold_started + eta_s)
        on_progress(replace(p, message=f"{name}: {p.message}", fraction=fraction, eta_s=eta_s))
    return report


def combine_folds(docs: list[dict[str, Any]], run_dir: Path, manifest=None) -> dict[str, Any]:
    """One metrics.json for nested k-fold: test figures per fold and seed (``summary``), their
    validation figures apart (``val_summary``), and every clip's out-of-fold prediction pooled
    (``pooled``, the headline)."""
    from trainer.run import evaluation, metrics

    run_dir = Path(run_dir)
    labels = docs[0]["labels"]
    per_seed = [{**m, "fold": i} for i, d in enumerate(docs, start=1) for m in d["per_seed"]]
    doc: dict[str, Any] = {"labels": labels, "per_seed": per_seed, **evaluation.summaries(per_seed, labels),
                           "split": {"strategy": "kfold", "k": len(docs), "folds": [d["split"] for d in docs]},
                           "leakage_count": sum(d["leakage_count"] for d in docs), "seeds": docs[0]["seeds"],
                           "model": docs[0]["model"], "layout": docs[0]["layout"],
                           "per_fold": [_fold_line(i, d) for i, d in enumerate(docs, start=1)]}
    pooled = [d["test_clip_predictions"] for d in docs if "test_clip_predictions" in d]
    if pooled and manifest is not None:
        clips = np.array([c for p in pooled for c in p["clips"]], dtype=np.int64)
        probs = np.array([row for p in pooled for row in p["probs"]], dtype=np.float64)
        y = np.array([labels.index(manifest.clips[c].label) for c in clips], dtype=np.int64)
        doc["pooled"] = metrics.evaluate(y, probs, labels)
        doc["pooled"]["n_clips"] = int(len(clips))
        doc["chance"] = evaluation.chance(y, len(labels))
        doc["thresholds"] = fit_thresholds(probs, y, labels, fitted_on=(
            f"the {len(clips)} pooled out-of-fold predictions of nested {len(docs)}-fold cross-validation")).to_json()
        _write_pooled(run_dir / "oof_predictions.csv", manifest, labels, clips, probs)
        raw = [d["test_clip_predictions_uncalibrated"] for d in docs if "test_clip_predictions_uncalibrated" in d]
        if len(raw) == len(pooled):   # speaker_norm: the same clips, models never calibrated to their speakers
            raw_probs = np.array([row for p in raw for row in p["probs"]], dtype=np.float64)
            raw_clips = np.array([c for p in raw for c in p["clips"]], dtype=np.int64)
            raw_y = np.array([labels.index(manifest.clips[c].label) for c in raw_clips], dtype=np.int64)
            doc["pooled_uncalibrated"] = {**evaluation.headline((raw_clips, raw_y, raw_probs), labels),
                                          "n_clips": int(len(raw_clips))}
    groups = sorted({g for d in docs for g in d.get("test_groups", [])})
    refitted = all("refit_epochs" in d for d in docs)
    doc["evaluation"] = {
        "scheme": "nested_cv", "k": len(docs), "test_groups": groups, "refit_folds": refitted,
        "description": (f"Nested {len(docs)}-fold cross-validation by group: each clip was tested once, by a "
                        "model that never saw its group and whose epoch and seed were chosen on other groups"
                        + ("; each fold's model was refit on all its non-test groups, as the shipped model is "
                           "refit on every clip" if refitted else "; the shipped model is refit on every clip")
                        + f"; the {doc.get('pooled', {}).get('n_clips', 0)} out-of-fold predictions are pooled."
                        + (" Each speaker's mel bands were normalised by statistics of that speaker's own clips "
                           "(audio only, no labels; a test speaker's from its test clips, as classify --calibrate "
                           "does); pooled_uncalibrated scores the same clips with the models' default "
                           "statistics." if "pooled_uncalibrated" in doc else ""))}
    atomic_write_json(run_dir / "metrics.json", doc)
    return doc


def shipped_report(doc: dict[str, Any]) -> dict[str, Any]:
    """The cross-validation's figures, as the refit model's metadata carries them."""
    keys = ("accuracy", "macro_f1", "auc_ovr")
    report: dict[str, Any] = {"evaluation": doc["evaluation"]}
    if "thresholds" in doc:
        report["thresholds"] = doc["thresholds"]
    if "pooled" in doc:
        report["metrics"] = {key: {"mean": doc["pooled"][key], "std": None} for key in keys}
    if "pooled_uncalibrated" in doc:
        report["uncalibrated_metrics"] = dict(doc["pooled_uncalibrated"])
    if "summary" in doc:
        report["per_fold_metrics"] = {key: doc["summary"][key] for key in keys}
    if "val_summary" in doc:
        report["val_metrics"] = {key: doc["val_summary"][key] for key in keys}
    report["speaker_cv" if doc["layout"] == "emodb" else "group_cv"] = {
        "pooled_macro_f1": doc.get("pooled", {}).get("macro_f1"), "folds": doc["per_fold"]}
    return report


def _adopt_refit(out: Path, refit, doc: dict[str, Any], epochs: int) -> None:
    shutil.copy2(refit.model_path, out / "model.onnx")
    for name in ("refit_predictions.csv",):
        if (refit.out / name).is_file():
            shutil.copy2(refit.out / name, out / name)
    doc["export"] = {**refit.metrics.get("export", {}), "source": "refit", "refit_epochs": epochs,
                     "path": "model.onnx"}
    doc["best_seed"] = refit.best_seed
    atomic_write_json(out / "metrics.json", doc)


def _fold_line(i: int, doc: dict[str, Any]) -> dict[str, Any]:
    s = doc.get("summary", {})
    return {"fold": i, "test_groups": doc.get("test_groups", []), "val_groups": doc.get("val_groups", []),
            "macro_f1": (s.get("macro_f1") or {}).get("mean"), "accuracy": (s.get("accuracy") or {}).get("mean"),
            "test_clips": doc.get("split_sizes", {}).get("test_clips")}


def _write_pooled(path: Path, manifest, labels, clips, probs) -> None:
    import csv
    import io

    from engine.atomic import atomic_write_text

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "group", "true_label", "predicted_label", *[f"p_{label}" for label in labels]])
    for clip_index, row in zip(clips, probs, strict=True):
        clip = manifest.clips[int(clip_index)]
        writer.writerow([str(clip.path), clip.group, clip.label, labels[int(np.argmax(row))],
                         *[f"{v:.6f}" for v in row]])
    atomic_write_text(path, buffer.getvalue())
