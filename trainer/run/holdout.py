"""A hold-out run that ships what it evaluated, trained on everything.

The hold-out run (``trainer.run.job.run``) trains on its training groups, chooses the seed (and,
with early stopping, the epoch) on its validation groups and reports figures on its test
groups, which nothing chose. Its own model never saw the validation and test groups: with five
speakers that is two fifths of the voices thrown away. So, as cross-validation does, the model
that ships is then **refit on every clip** — training, validation and test — for the epoch
count and with the seed the validation side chose, into ``<out>/refit``, and copied to
``<out>/model.onnx``. The figures stay the held-out model's (kept as ``<out>/holdout_model.onnx``):
``metrics.json``'s ``export`` and the model's metadata say which model they come from.
``refit=False`` (``main.py train --no-refit``) ships the held-out model itself, at half the cost.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.atomic import atomic_write_json
from engine.jobs import CancelToken, Progress, ignore_progress
from trainer.recipe import TrainRequest

HOLDOUT_MODEL = "holdout_model.onnx"


def train_holdout(request: TrainRequest, *, on_progress: Callable[[Progress], None] = ignore_progress,
                  cancel: CancelToken | None = None):
    """The hold-out run, then (``request.refit``) the refit on every clip that ships."""
    from trainer.run.job import RunResult, run

    cancel = cancel or CancelToken()
    if not request.refit or request.refit_epochs:
        return run(request, on_progress=on_progress, cancel=cancel)
    out = Path(request.out)
    held = run(request, on_progress=_share(on_progress, 0.0, 0.5, ""), cancel=cancel)
    doc = held.metrics
    epochs = chosen_epochs(doc)
    cancel.raise_if_cancelled("training")
    refit_request = replace(request, out=str(out / "refit"), refit_epochs=epochs, seeds=(held.best_seed,),
                            test_groups=None, test_fold=None, val_groups=None, val_fold=None, resume=False)
    refit = run(refit_request, on_progress=_share(on_progress, 0.5, 1.0, f"refit on every clip ({epochs} epochs): "),
                cancel=cancel, report=holdout_report(doc))
    if held.model_path is None or refit.model_path is None:   # not the main process under torchrun
        return refit
    shutil.move(out / "model.onnx", out / HOLDOUT_MODEL)
    shutil.copy2(refit.model_path, out / "model.onnx")
    n_clips = refit.metrics["split_sizes"]["train_clips"]
    doc["export"] = {**refit.metrics.get("export", {}), "source": "refit", "refit_epochs": epochs,
                     "refit_seed": held.best_seed, "refit_clips": n_clips, "path": "model.onnx",
                     "holdout_model": HOLDOUT_MODEL, "holdout_export": doc.get("export", {}),
                     "figures_from": (f"{HOLDOUT_MODEL}: the model trained on the training groups only, tested on "
                                      "test groups it never saw; model.onnx is the same recipe refit on all "
                                      f"{n_clips} clips and has no test figures of its own")}
    atomic_write_json(out / "metrics.json", doc)
    on_progress(Progress("done", 1, 1, f"tested the held-out model; shipped {out / 'model.onnx'}, refit on all "
                         f"{n_clips} clips for {epochs} epochs", fraction=1.0))
    return RunResult(out, doc, out / "model.onnx", held.best_seed, held.skipped)


def chosen_epochs(doc: dict[str, Any]) -> int:
    """The epoch count the validation side chose for the exported seed (the whole schedule
    unless early stopping was asked for)."""
    best = next((m for m in doc["per_seed"] if m["seed"] == doc["best_seed"]), doc["per_seed"][0])
    return max(1, int(best.get("best_epoch") or 1))


def holdout_report(doc: dict[str, Any]) -> dict[str, Any]:
    """The held-out model's figures, as the refit model's metadata carries them."""
    keys = ("accuracy", "macro_f1", "auc_ovr")
    evaluation = dict(doc.get("evaluation", {}))
    evaluation["scheme"] = "holdout_then_refit"
    evaluation["description"] = (evaluation.get("description", "") + " These figures are the held-out model's "
                                 "(trained without the validation and test groups); this model is the same recipe "
                                 "refit on every clip for the epochs and seed validation chose.").strip()
    report: dict[str, Any] = {"evaluation": evaluation, "figures_from": "holdout_model"}
    if "thresholds" in doc:
        report["thresholds"] = doc["thresholds"]
    if "summary" in doc:
        report["metrics"] = {key: doc["summary"][key] for key in keys}
    if "val_summary" in doc:
        report["val_metrics"] = {key: doc["val_summary"][key] for key in keys}
    uncalibrated = [m["uncalibrated"] for m in doc["per_seed"] if m.get("uncalibrated")
                    and m["seed"] == doc["best_seed"]]
    if uncalibrated:
        report["uncalibrated_metrics"] = uncalibrated[0]
    return report


def _share(on_progress, start: float, end: float, prefix: str):
    """Reports of one of the two runs, their fractions mapped into [start, end] of the whole."""
    def report(p: Progress) -> None:
        fraction = None if p.fraction is None else start + (end - start) * p.fraction
        stage = ("export" if prefix else "evaluate") if p.stage == "done" else p.stage  # one "done": the last
        # the refit has no validation side: its epochs carry no validation figures (no curve points)
        metrics = {k: v for k, v in p.metrics.items() if not k.startswith("val_")} if prefix else p.metrics
        on_progress(replace(p, stage=stage, message=prefix + p.message, fraction=fraction, metrics=metrics))
    return report
