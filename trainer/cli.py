"""Headless commands that need torch: ``train`` and ``audit`` (see main.py for the options)."""

from __future__ import annotations

import sys
import time

from engine.errors import EarmarkError

PRINT_INTERVAL_S = 2.0


def run_audit(args) -> int:
    from trainer.audit import run_audit as _run_audit

    return _run_audit(args)


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
    if getattr(args, "list_models", False):
        from trainer.models import list_models

        print("\n".join(list_models()))
        return 0
    from trainer.job import Cancelled, CancelToken, TrainConfig, run

    try:
        config = TrainConfig.from_args(args)
    except (TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cancel = CancelToken()
    try:
        result = run(config, on_progress=_ProgressPrinter(), cancel=cancel)
    except (EarmarkError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Cancelled):
        print(f"interrupted: the best checkpoints so far are kept in {config.out}/checkpoints "
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
    lines = [f"run folder: {result.out}",
             f"split: {doc['split']['strategy']}, validation groups {', '.join(doc['val_groups'][:10])}; "
             f"{doc['split_sizes']['train_clips']} train / {doc['split_sizes']['val_clips']} validation clips; "
             f"leakage {doc['leakage_count']}"]
    for seed_metrics in doc["per_seed"]:
        lines.append(f"seed {seed_metrics['seed']}: accuracy {seed_metrics['accuracy']:.3f}, "
                     f"macro F1 {seed_metrics['macro_f1']:.3f}, best epoch {seed_metrics['best_epoch']}")
    lines += [f"accuracy  {format_mean_std(summary['accuracy'])}",
              f"macro F1  {format_mean_std(summary['macro_f1'])}",
              f"AUC (OvR) {format_mean_std(summary['auc_ovr'])}",
              f"model: {result.model_path} (seed {result.best_seed})"]
    print("\n".join(lines))
