"""Headless commands that need the trainer: ``train`` and ``audit`` (see main.py for the options).

Both go through :mod:`trainer.api`, as the app does."""

from __future__ import annotations

import sys
import time

from engine.errors import EarmarkError

PRINT_INTERVAL_S = 2.0


def run_audit(args) -> int:
    """``main.py audit``: write suspects.csv, most suspect first (``trainer.api.audit``)."""
    from engine.manifest import read_manifest
    from trainer import api

    chosen = {name: getattr(args, name, None) for name in ("folds", "seed")}
    try:
        manifest = read_manifest(args.data, getattr(args, "layout", None))
        request = api.AuditRequest(manifest, model_path=getattr(args, "model", None),
                                   **{k: v for k, v in chosen.items() if v is not None})
        result = api.audit(request)
        api.write_suspects(result, args.out)
    except EarmarkError as exc:
        print(f"earmark audit: {exc}", file=sys.stderr)
        return 2
    print(f"{len(result.keys)} clips scored ({result.source}); {int(result.is_issue.sum())} likely label issues; "
          f"suspects written to {args.out}")
    return 0


class _ProgressPrinter:
    """Progress lines on stderr: every stage change, epoch and warning; steps at most every 2 s."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.last_stage = None
        self.last_print = 0.0

    def __call__(self, p) -> None:
        now = time.monotonic()
        is_epoch_end = p.stage == "train" and "val_loss" in p.metrics
        important = p.stage != self.last_stage or is_epoch_end or p.message.startswith("warning")
        if p.stage in ("train", "cache") and not important and now - self.last_print < PRINT_INTERVAL_S:
            return
        self.last_stage, self.last_print = p.stage, now
        eta = f" (about {_duration(p.eta_s)} left)" if p.eta_s else ""
        print(f"[{p.stage}] {p.message}{eta}", file=self.stream, flush=True)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


def run_train(args) -> int:
    from trainer import api

    if getattr(args, "list_models", False):
        for info in api.list_models():
            extras = ["ImageNet weights" if info.has_pretrained else "", f"min input {info.min_input_size}",
                      f"{info.default_in_chans} channel(s)"]
            print(f"{info.name:<24} {', '.join(e for e in extras if e)}")
        return 0
    try:
        request = api.TrainRequest.from_args(args)
    except (TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cancel = api.CancelToken()
    try:
        result = api.train(request, on_progress=_ProgressPrinter(), cancel=cancel)
    except (EarmarkError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, api.Cancelled):
        print(f"interrupted: the best checkpoints so far are kept in {request.out} "
              "(run again with --resume to continue)", file=sys.stderr)
        return 130
    if result.model_path is not None:  # rank 0 only under torchrun
        _print_summary(result)
    return 0


def _print_summary(result) -> None:
    from trainer.metrics import format_mean_std

    doc = result.metrics
    summary = doc["summary"]
    for skipped_path, reason in result.skipped:
        print(f"warning: skipped {skipped_path}: {reason}", file=sys.stderr)
    split = doc["split"]
    if split["strategy"] == "kfold":
        lines = [f"run folder: {result.out}",
                 f"split: {split['k']}-fold cross-validation; leakage {doc['leakage_count']}; "
                 f"exported: fold {doc['best_fold']}"]
    else:
        lines = [f"run folder: {result.out}",
                 f"split: {split['strategy']}, validation groups {', '.join(doc['val_groups'][:10])}; "
                 f"{doc['split_sizes']['train_clips']} train / {doc['split_sizes']['val_clips']} validation clips; "
                 f"leakage {doc['leakage_count']}"]
    for seed_metrics in doc["per_seed"]:
        fold = f"fold {seed_metrics['fold']} " if "fold" in seed_metrics else ""
        lines.append(f"{fold}seed {seed_metrics['seed']}: accuracy {seed_metrics['accuracy']:.3f}, "
                     f"macro F1 {seed_metrics['macro_f1']:.3f}, best epoch {seed_metrics['best_epoch']}")
    lines += [f"accuracy  {format_mean_std(summary['accuracy'])}",
              f"macro F1  {format_mean_std(summary['macro_f1'])}",
              f"AUC (OvR) {format_mean_std(summary['auc_ovr'])}",
              f"model: {result.model_path} (seed {result.best_seed})"]
    print("\n".join(lines))
