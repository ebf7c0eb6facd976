"""The training job, Qt-free: ``run(config, *, on_progress, cancel) -> RunResult``.

read manifest -> grouped split -> leakage audit (clips) -> feature cache -> leakage
audit (every cached item) -> for each seed: train, evaluate -> mean ± std ->
export the best seed's model (frontend inside) as ``model.onnx``. Writes into
``config.out``: metrics.json, model.onnx, confusion_matrix.png, curves.png,
config.json, val_predictions.csv, tb/ and checkpoints/. Under torchrun every rank
trains; only rank 0 writes.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.atomic import atomic_write_json
from engine.errors import EarmarkError
from engine.jobs import Cancelled, CancelToken, JobWarning, Progress, ignore_progress
from engine.models.thresholds import fit as fit_thresholds
from trainer.data import speaker_norm
from trainer.data.cache import ORIGINAL, FeatureCache
from trainer.data.grouping import training_manifest
from trainer.data.splits import leakage_audit, refit_split, three_way_split
from trainer.recipe import TrainRequest
from trainer.run import distributed, evaluation, metrics, outputs
from trainer.run.resolve import cache_root, frontend_config, loop_config, resolve

__all__ = ["CancelToken", "Cancelled", "Progress", "ResumeMismatch", "RunResult", "TrainRequest", "run"]


class ResumeMismatch(EarmarkError):
    """``--resume`` asked to continue a run with another configuration than the one it started with."""



SKIPPED_CLIP = "skipped-clip"   # JobWarning.code of a clip that could not be read


def skipped_warnings(skipped) -> tuple[JobWarning, ...]:
    """One warning per clip left out of a run, naming the file and why."""
    return tuple(JobWarning(SKIPPED_CLIP, f"skipped {path}: {reason}") for path, reason in skipped)

@dataclass
class RunResult:
    out: Path
    metrics: dict[str, Any]
    model_path: Path | None
    best_seed: int
    skipped: list[tuple[str, str]] = field(default_factory=list)


class _Run:
    def __init__(self, config: TrainRequest, on_progress: Callable[[Progress], None], cancel: CancelToken):
        self.config, self.cancel = config, cancel
        self.out = Path(config.out)
        self._emit = on_progress
        self.started = time.monotonic()

    def emit(self, stage: str, step: int, total: int, message: str = "", **kw) -> None:
        if self.ctx.is_main:
            kw.setdefault("fraction", STAGE_FRACTION.get(stage))
            self._emit(Progress(stage, step, total, message, **kw))

    def trained_fraction(self, index: int, epochs_done: float) -> float:
        """The whole run's share done after ``epochs_done`` epochs of seed ``index``."""
        c = self.config
        return 0.05 + 0.9 * min(1.0, (index * c.epochs + epochs_done) / (len(c.seeds) * c.epochs))

    def check_resume(self) -> None:
        """Refuse ``resume`` when the run folder's config.json says it was started otherwise."""
        saved_path = self.out / "config.json"
        if not self.config.resume or not saved_path.is_file():
            return
        try:
            saved = json.loads(saved_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ResumeMismatch(f"{saved_path}: cannot read the configuration the run started with ({exc}); "
                                 "drop --resume to start afresh") from exc
        differ = self.config.differences(saved)
        if differ:
            raise ResumeMismatch(
                f"{self.out}: --resume would continue a run started with another configuration; "
                f"these settings differ (saved -> now): {'; '.join(differ)}. Use the same settings, "
                "or another --out folder to start a new run")

    def prepare(self) -> None:
        from trainer.run.loop import choose_device

        self.device = choose_device(self.config.device, _local_rank())
        self.ctx = distributed.setup(self.device)
        self.emit("prepare", 0, 1, f"reading {self.config.data}")
        self.manifest, grouping = training_manifest(self.config.data, self.config.layout)
        self.grouping = grouping
        if grouping:
            self.emit("prepare", 0, 1, "grouped by time blocks", warnings=[JobWarning("time-blocks", grouping)])
        if len(self.manifest.labels) < 2:
            raise ValueError(f"{self.config.data}: training needs at least two classes, "
                             f"found {self.manifest.labels}")
        self.config = resolve(self.config, self.manifest)
        self.check_resume()
        if self.ctx.is_main:
            atomic_write_json(self.out / "config.json", self.config.to_json())
        self.emit("prepare", 1, 1, f"{len(self.manifest.clips)} clips, {len(self.manifest.labels)} classes, "
                  f"device {self.device}")

    def split(self) -> None:
        c = self.config
        clips = self.manifest.clips
        if c.refit_epochs:   # a refit: on every clip (what ships), or on all but a fold's test side
            self.split_ = refit_split(self.manifest, test_groups=c.test_groups, test_fold=c.test_fold)
            leakage_audit([clips[i] for i in self.split_.train],
                          [clips[i] for i in self.split_.test]).raise_if_leaking()
            held = f", {len(self.split_.test)} test clips held out" if self.split_.test else ""
            self.emit("split", 1, 1, f"refit on {len(self.split_.train)} clips for {c.refit_epochs} epochs{held}")
            return
        self.split_ = three_way_split(self.manifest, "auto", test_fraction=c.test_fraction,
                                      val_fraction=c.val_fraction, seed=c.split_seed, test_groups=c.test_groups,
                                      test_fold=c.test_fold, val_groups=c.val_groups, val_fold=c.val_fold)
        for a, b in ((self.split_.train, self.split_.val), (self.split_.train, self.split_.test),
                     (self.split_.val, self.split_.test)):
            leakage_audit([clips[i] for i in a], [clips[i] for i in b]).raise_if_leaking()
        d = self.split_.describe()
        self.emit("split", 1, 1, f"{d['strategy']} split: {len(self.split_.train)} train / "
                  f"{len(self.split_.val)} validation / {len(self.split_.test)} test clips; test groups "
                  f"{', '.join(d['test_groups'][:8])}")

    def build_cache(self) -> None:
        c = self.config
        def progress(p: Progress) -> None:
            self.emit(p.stage, p.step, p.total, p.message, fraction=0.05 * p.step / max(1, p.total))
        kwargs = {"frontend_config": frontend_config(c), "variants": c.variants, "out_dir": cache_root(c),
                  "workers": c.workers, "seed": c.split_seed, "on_progress": progress, "cancel": self.cancel,
                  "device": str(self.device)}  # the frontend runs on the GPU when there is one
        if self.ctx.is_main:
            self.cache = FeatureCache.build(self.manifest, **kwargs)
        distributed.barrier(self.ctx)
        if not self.ctx.is_main:
            self.cache = FeatureCache.build(self.manifest, **kwargs)
        if self.cache.skipped:
            n = len(self.cache.skipped)
            self.emit("cache", 1, 1, f"{n} clip{'s' * (n != 1)} could not be read and {'were' if n != 1 else 'was'} "
                      "left out", warnings=skipped_warnings(self.cache.skipped))
        self.train_items = self.cache.items_for(self.split_.train)
        held_out = self.cache.items_for(self.split_.val) + self.cache.items_for(self.split_.test)
        report = leakage_audit(self.train_items, held_out)   # every variant of every clip
        report.raise_if_leaking()
        self.leakage_count = report.count
        self.val_items = self.cache.items_for(self.split_.val, [ORIGINAL])
        self.test_items = self.cache.items_for(self.split_.test, [ORIGINAL])
        self.band_default = None
        if c.speaker_norm:   # each speaker's band statistics, from its own unlabelled clips
            self.emit("cache", 1, 1, "band statistics per speaker")
            self.band = speaker_norm.speaker_stats(self.cache, self.manifest, self.cancel)
            trained = {self.manifest.clips[i].speaker for i in self.split_.train}
            self.band_default = speaker_norm.default_stats(self.band, trained)
            if self.ctx.is_main:
                speaker_norm.write_stats(self.out, self.band, self.band_default, trained)
        missing_test = bool(self.split_.test) and not self.test_items
        if not self.train_items or missing_test or (not c.refit_epochs and not (self.val_items and self.test_items)):
            raise ValueError(f"{c.data}: after skipping unreadable clips, training has {len(self.train_items)}, "
                             f"validation {len(self.val_items)} and test {len(self.test_items)} items; "
                             "each needs some")

    def build_model(self):
        from trainer.run.build import build_classifier

        return build_classifier(self.config, len(self.manifest.labels))

    def train_seed(self, index: int, seed: int) -> dict[str, Any]:
        from trainer.run.loop import Trainer, seed_everything

        c = self.config
        seed_everything(seed)
        loop = loop_config(c)
        trainer = Trainer(self.build_model(), self.dataset(self.train_items),
                          self.dataset(self.val_items), loop, seed=seed, device=self.device,
                          checkpoint_dir=self.out / "checkpoints" / f"seed{seed}",
                          tb_dir=self.out / "tb" / f"seed{seed}", ctx=self.ctx, cancel=self.cancel,
                          on_step=self._step_reporter(index, seed),
                          on_epoch=lambda r: self.emit("train", int(r["epoch"]), c.epochs,
                                                       _epoch_line(seed, r, c.epochs), epoch=int(r["epoch"]),
                                                       seed=seed, metrics=dict(r),
                                                       fraction=self.trained_fraction(index, int(r["epoch"]))))
        fit = trainer.fit(resume=c.resume)
        trainer.load_best()
        self.emit("evaluate", index + 1, len(c.seeds), f"seed {seed}: evaluating epoch {fit.best_epoch}", seed=seed,
                  fraction=self.trained_fraction(index + 1, 0))
        val = self._clip_predictions(trainer, self.val_items)
        test = self._clip_predictions(trainer, self.test_items)
        result = evaluation.seed_figures(self.manifest.labels, test, val)
        if c.speaker_norm and test is not None:   # the same test clips, the model never calibrated to them
            raw = self._clip_predictions(trainer, self.test_items, calibrated=False)
            result["uncalibrated"] = evaluation.headline(raw, self.manifest.labels)
            self.test_uncalibrated[seed] = raw
        result.update(seed=seed, best_epoch=fit.best_epoch, best_val_loss=fit.best_val_loss,
                      epochs_run=len(fit.history), stopped_early=fit.stopped_early)
        self.histories[seed] = fit.history
        self.models[seed] = trainer.model
        self.test_predictions[seed] = test
        self.val_predictions[seed] = val
        return result

    def dataset(self, items, calibrated: bool = True):
        """The cached items; band-normalised by their speakers' statistics (or, not ``calibrated``,
        by the model's default ones) in a ``speaker_norm`` run."""
        if not self.config.speaker_norm:
            return self.cache.dataset(items)
        fixed = None if calibrated else self.band_default
        return self.cache.dataset(items, speaker_norm.item_stats(items, self.manifest, self.band, fixed))

    def _clip_predictions(self, trainer, items, calibrated: bool = True):
        """(clip indices, labels, probabilities) per clip, windows averaged; None without items."""
        if not items:
            return None
        probs, y = trainer.predict(self.dataset(items, calibrated))
        return evaluation.clip_probabilities(probs, y, [it.clip_index for it in items])

    def _step_reporter(self, index: int, seed: int):
        last = [0.0]
        def report(epoch: int, step: int, total: int, loss: float) -> None:
            now = time.monotonic()
            if now - last[0] < 0.5 and 1 < step < total:  # first and last steps always
                return
            last[0] = now
            done = index * self.config.epochs * total + (epoch - 1) * total + step
            all_steps = len(self.config.seeds) * self.config.epochs * total
            eta_s = self.eta.update(done, all_steps, now)
            self.emit("train", step, total, f"seed {seed} epoch {epoch}: step {step}/{total} loss {loss:.4f}",
                      epoch=epoch, seed=seed, metrics={"train_loss": loss}, eta_s=eta_s,
                      fraction=self.trained_fraction(index, (epoch - 1) + step / total))
        return report

    def train_all(self) -> None:
        self.histories, self.models, self.per_seed, self.test_predictions = {}, {}, [], {}
        self.val_predictions = {}
        self.test_uncalibrated = {}
        self.eta = EtaEstimator()
        for index, seed in enumerate(self.config.seeds):
            self.per_seed.append(self.train_seed(index, seed))

    def finish(self) -> RunResult:
        c, labels = self.config, self.manifest.labels
        # The exported seed is chosen on validation figures only: the test side chooses nothing.
        best = max(self.per_seed, key=lambda m: ((m.get("val") or {}).get("macro_f1") or 0.0,
                                                 -(m["best_val_loss"] if math.isfinite(m["best_val_loss"]) else 0)))
        sizes = {"train_clips": len({it.clip_index for it in self.train_items}), "val_clips": len({it.clip_index for it in self.val_items}),
                 "test_clips": len({it.clip_index for it in self.test_items}),
                 "train_items": len(self.train_items), "val_items": len(self.val_items),
                 "test_items": len(self.test_items)}
        doc = {"labels": list(labels), "per_seed": self.per_seed,
               **evaluation.summaries(self.per_seed, labels),
               "split": {**self.split_.describe(), "sizes": sizes}, "split_sizes": sizes,
               "leakage_count": self.leakage_count, "val_groups": list(self.split_.val_groups),
               "grouping": getattr(self, "grouping", ""),
               "test_groups": list(self.split_.test_groups),
               "seeds": list(c.seeds), "best_seed": best["seed"], "skipped": [list(s) for s in self.cache.skipped],
               "model": c.model, "layout": self.manifest.layout}
        test = self.test_predictions.get(best["seed"])
        val = self.val_predictions.get(best["seed"])
        if val is not None and len(val[0]):   # thresholds from clips only validation (never test) saw
            doc["thresholds"] = fit_thresholds(val[2], val[1], list(labels), fitted_on=(
                f"the validation side's {len(val[0])} clips of a hold-out run (groups the model never trained on)")
            ).to_json()
        if self.split_.strategy == "refit":
            held = (f"; tested on {len(self.split_.test)} clips of groups it never saw" if test is not None
                    else "; nothing held out, so no figures here")
            doc["evaluation"] = {"scheme": "refit", "test_groups": list(self.split_.test_groups),
                                 "description": f"Refit on {len(self.train_items)} items for {c.refit_epochs} "
                                               f"epochs (chosen on another run's validation side){held}."}
        else:
            doc["evaluation"] = {"scheme": "holdout", "test_groups": list(self.split_.test_groups),
                                 "val_groups": list(self.split_.val_groups),
                                 "description": evaluation.holdout_description(self.split_, self.manifest,
                                                                               len(c.seeds))}
        if test is not None:
            doc["chance"] = evaluation.chance(test[1], len(labels))
            doc["test_clip_predictions"] = {"clips": [int(i) for i in test[0]],
                                            "probs": [[round(float(v), 6) for v in row] for row in test[2]]}
            raw = self.test_uncalibrated.get(best["seed"])
            if raw is not None:
                doc["test_clip_predictions_uncalibrated"] = {
                    "clips": [int(i) for i in raw[0]], "probs": [[round(float(v), 6) for v in row] for row in raw[2]]}
        if self.split_.strategy == "speaker":
            doc["val_speakers"] = list(self.split_.val_groups)
            doc["test_speakers"] = list(self.split_.test_groups)
        model_path = None
        if self.ctx.is_main:
            model_path = self.export(doc, best["seed"])
            if "summary" in doc:
                metrics.plot_confusion_matrix(doc["summary"]["confusion_matrix"], labels,
                                              self.out / "confusion_matrix.png",
                                              title=f"Test confusion, summed over {len(c.seeds)} seed(s)")
            metrics.plot_curves(self.histories, self.out / "curves.png")
            atomic_write_json(self.out / "metrics.json", doc)
        self.emit("done", 1, 1, _summary_line(doc))
        return RunResult(self.out, doc, model_path, best["seed"], list(self.cache.skipped))

    def export(self, doc: dict[str, Any], seed: int) -> Path:
        from trainer.run.build import export_model
        from trainer.run.export import export_onnx

        c = self.config
        self.emit("export", 0, 1, f"exporting seed {seed} to {self.out / 'model.onnx'}")
        frontend = frontend_config(c)
        model = export_model(c, self.models[seed], self.band_default)
        speakers = ({it.path: self.manifest.clips[it.clip_index].speaker for it in self.cache.items}
                    if c.speaker_norm else None)
        originals = self.cache.items_for(self.split_.train, [ORIGINAL])
        sides = ([("refit_predictions.csv", originals)] if self.split_.strategy == "refit" else
                 [("val_predictions.csv", self.val_items)])
        if self.test_items:
            sides.append(("test_predictions.csv", self.test_items))
        for name, items in sides:   # what the exported graph says for each held-out clip (PyTorch)
            outputs.write_val_predictions(model, items, self.manifest.labels, c.sample_rate_hz,
                                          frontend.n_samples, self.out / name, clip_s=c.clip_s, speakers=speakers)
        example = outputs.example_batch(self.val_items or originals, c.sample_rate_hz, frontend.n_samples)
        meta = outputs.model_metadata(c, self.manifest, self.split_, doc["split_sizes"], doc, seed,
                                      len(self.cache.skipped), report=self.report)
        err = export_onnx(model, self.out / "model.onnx", metadata=meta, example=example,
                          tolerance=c.export_tolerance)
        doc["export"] = {"seed": seed, "parity_max_abs_err": err, "path": "model.onnx"}
        self.emit("export", 1, 1, f"exported (ONNX Runtime parity {err:.2g})")
        return self.out / "model.onnx"


# the whole run's share done when a stage reports (training reports its own, 0.05 to 0.95)
STAGE_FRACTION = {"prepare": 0.0, "split": 0.0, "cache": 0.05, "export": 0.96, "done": 1.0}


class EtaEstimator:
    """Time left from the pace of the steps run *in this process*: a resumed run starts at a
    later step, and counting the steps done before the resume as done now would make it look
    many times faster than it is (the ETA after ``--resume`` was far too short)."""

    def __init__(self) -> None:
        self._origin: tuple[int, float] | None = None   # (position, time) of the first report

    def update(self, position: int, total: int, now: float) -> float | None:
        if self._origin is None:
            self._origin = (position, now)
            return None
        start, t0 = self._origin
        run = position - start
        if run <= 0:
            return None
        return (now - t0) / run * max(0, total - position)


def run(config: TrainRequest, *, on_progress: Callable[[Progress], None] = ignore_progress,
        cancel: CancelToken | None = None, report: dict[str, Any] | None = None) -> RunResult:
    """Train, evaluate and export as configured; raises ``Cancelled`` when ``cancel`` fires.
    ``report``: figures for the model's metadata measured elsewhere (a refit's cross-validation)."""
    job = _Run(config, on_progress, cancel or CancelToken())
    job.report = report
    job.ctx = distributed.DistContext()
    # The process group (under torchrun) outlives this run: a hold-out run and its refit, or the
    # folds of a cross-validation, share it; the command that started them leaves it (trainer/cli.py).
    job.prepare()
    job.split()
    job.build_cache()
    job.train_all()
    result = job.finish()
    distributed.barrier(job.ctx)  # other ranks wait while rank 0 exports and writes
    return result


def _local_rank() -> int:
    import os

    return int(os.environ.get("LOCAL_RANK", "0"))


def _epoch_line(seed: int, record: Mapping[str, float], epochs: int) -> str:
    line = f"seed {seed} epoch {int(record['epoch'])}/{epochs}: train loss {record['train_loss']:.4f}"
    if math.isfinite(record.get("val_loss", math.nan)):   # a refit has no validation side
        line += f", val loss {record['val_loss']:.4f}, val acc {record['val_acc']:.3f}"
    return line


def _summary_line(doc: Mapping[str, Any]) -> str:
    if "summary" not in doc:
        return doc["evaluation"]["description"]
    s = doc["summary"]
    return (f"test accuracy {metrics.format_mean_std(s['accuracy'])}, macro F1 {metrics.format_mean_std(s['macro_f1'])}, "
            f"AUC {metrics.format_mean_std(s['auc_ovr'])} over {s['n_seeds']} seed(s); "
            f"leakage {doc['leakage_count']}")
