"""Headless commands that need the trainer: ``train`` and ``audit`` (see main.py for the options).

Both go through :mod:`trainer.api`, as the app does."""

from __future__ import annotations

import sys
import time

from engine.errors import EarmarkError

PRINT_INTERVAL_S = 2.0


def run_audit(args) -> int:
    """``main.py audit``: write suspects.csv, most suspect first (``trainer.api.audit``)."""
    from engine.datasets.manifest import read_manifest
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
    if result.unjudged_note():
        print(f"note: {result.unjudged_note()}")
    return 0


class _ProgressPrinter:
    """Progress lines on stderr: every stage change, epoch and warning; steps at most every 2 s."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.last_stage = None
        self.last_print = 0.0

    def __call__(self, p) -> None:
        now = time.monotonic()
        is_epoch_end = p.stage == "train" and "epoch" in p.metrics   # an epoch's record, not a step
        important = p.stage != self.last_stage or is_epoch_end or bool(p.warnings)
        if p.stage in ("train", "cache") and not important and now - self.last_print < PRINT_INTERVAL_S:
            return
        self.last_stage, self.last_print = p.stage, now
        eta = f" (about {_duration(p.eta_s)} left)" if p.eta_s else ""
        print(f"[{p.stage}] {p.message}{eta}", file=self.stream, flush=True)
        for warning in p.warnings:
            print(f"warning: {warning.message}", file=self.stream, flush=True)


def _model_line(result, doc) -> str:
    export = doc.get("export", {})
    if export.get("source") == "refit":
        return (f"model: {result.model_path} (refit on all {export['refit_clips']} clips for {export['refit_epochs']} "
                f"epochs, seed {result.best_seed} chosen on validation; the figures above are the held-out model's, "
                f"{export['holdout_model']})")
    return f"model: {result.model_path} (seed {result.best_seed}, chosen on validation)"


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
    finally:
        api.leave_process_group()
    if result.model_path is not None:  # rank 0 only under torchrun
        _print_summary(result)
    return 0


def _print_summary(result) -> None:
    from trainer.run.metrics import format_mean_std

    doc = result.metrics
    if result.skipped:
        n = len(result.skipped)
        print(f"warning: {n} clip{'s' * (n != 1)} could not be read and {'were' if n != 1 else 'was'} left out "
              "(named above, and in metrics.json's 'skipped')", file=sys.stderr)
    lines = [f"run folder: {result.out}", doc["evaluation"]["description"]]
    if doc["split"]["strategy"] == "kfold":
        lines.append(f"split: nested {doc['split']['k']}-fold cross-validation; leakage {doc['leakage_count']}")
        for fold in doc["per_fold"]:
            lines.append(f"fold {fold['fold']}: tested on {', '.join(fold['test_groups'][:6])}: "
                         f"macro F1 {_figure(fold['macro_f1'])}, accuracy {_figure(fold['accuracy'])}")
        pooled = doc.get("pooled", {})
        lines += [f"pooled over {pooled.get('n_clips', 0)} clips (test, out of fold): accuracy "
                  f"{_figure(pooled.get('accuracy'))}, macro F1 {_figure(pooled.get('macro_f1'))}, "
                  f"AUC {_figure(pooled.get('auc_ovr'))}",
                  f"model: {result.model_path} (refit on every clip for {doc['export'].get('refit_epochs')} epochs)"]
    else:
        sizes = doc["split_sizes"]
        lines.append(f"split: {doc['split']['strategy']}; {sizes['train_clips']} train / {sizes['val_clips']} "
                     f"validation / {sizes['test_clips']} test clips; leakage {doc['leakage_count']}")
        for m in doc["per_seed"]:
            lines.append(f"seed {m['seed']}: test accuracy {_figure(m.get('accuracy'))}, macro F1 "
                         f"{_figure(m.get('macro_f1'))}; validation macro F1 {_figure(m['val'].get('macro_f1'))}; "
                         f"best epoch {m['best_epoch']}")
        summary, val = doc["summary"], doc["val_summary"]
        lines += [f"test accuracy  {format_mean_std(summary['accuracy'])}   (validation "
                  f"{format_mean_std(val['accuracy'])})",
                  f"test macro F1  {format_mean_std(summary['macro_f1'])}   (validation "
                  f"{format_mean_std(val['macro_f1'])})",
                  f"test AUC (OvR) {format_mean_std(summary['auc_ovr'])}",
                  _model_line(result, doc)]
    chance = doc.get("chance") or {}
    if chance.get("accuracy") is not None:
        lines.append(f"chance (always the most common class): accuracy {chance['accuracy']:.3f}, "
                     f"macro F1 {chance['macro_f1']:.3f}")
    print("\n".join(lines))


def _figure(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"
