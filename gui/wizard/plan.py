"""What the wizard asks the training job to do, resolved from a :class:`TrainSession`.

``TrainPlan.prepare`` (GUI thread, quick) makes the run folder and writes ``wizard.json``
(data source and summary, split with its leakage audit, variants, model settings) and,
when the split is grouped by a column other than the layout's own or audited labels
are declined, ``data.csv`` (path,label,group,fold) that the job then reads.
``TrainPlan.execute`` (worker thread) runs ``trainer.job.run`` once for a hold-out
split, or once per fold for k-fold; k-fold runs are combined into one ``metrics.json``
(mean ± std over folds × seeds) with the best fold's model as ``model.onnx``.
"""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from engine.atomic import atomic_write_json, atomic_write_text
from gui.wizard.runs import new_run_dir, write_wizard_record
from gui.wizard.session import NATIVE, TrainSession


def write_data_csv(manifest, path: Path) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "label", "group", "fold"])
    for clip in manifest.clips:
        writer.writerow([str(clip.path), clip.label, clip.group, "" if clip.fold is None else clip.fold])
    atomic_write_text(path, buffer.getvalue())
    return path


class TrainPlan:
    """One run of the wizard: the run folder, the job configs, and how to combine them."""

    def __init__(self, session: TrainSession, *, runs_root: Path | None = None,
                 job_overrides: dict[str, Any] | None = None) -> None:
        if session.manifest is None or session.split_report is None:
            raise ValueError("choose the data and the split before training")
        self.session = session
        self.runs_root = runs_root
        self.overrides = dict(job_overrides or {})
        self.run_dir: Path | None = None
        self.data: str = ""
        self.layout: str | None = None

    def prepare(self) -> Path:
        s = self.session
        self.run_dir = new_run_dir(s.model.name, root=self.runs_root)
        if s.split.column != NATIVE or not s.use_edits:
            self.data = str(write_data_csv(s.grouped_manifest(), self.run_dir / "data.csv"))
            self.layout = "csv"
        else:
            self.data, self.layout = str(s.source), s.manifest.layout
        write_wizard_record(self.run_dir, {
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "status": "running",
            "data": {"source": str(s.source), "layout": s.manifest.layout, "use_edits": s.use_edits,
                     "trained_on": self.data, "n_clips": len(s.manifest.clips),
                     "class_counts": s.summary.counts if s.summary else {},
                     "warnings": s.summary.warnings if s.summary else []},
            "split": {**asdict(s.split), **_jsonable(s.split_report)},
            "variants": [[name, kw] for name, kw in s.variants],
            "model": {**asdict(s.model)},
        })
        return self.run_dir

    def job_kwargs(self, out: Path, fold: dict[str, Any] | None = None) -> dict[str, Any]:
        s, m = self.session, self.session.model
        kwargs: dict[str, Any] = {
            "data": self.data, "out": str(out), "layout": self.layout, "model": m.name, "epochs": m.epochs,
            "seeds": tuple(m.seeds), "batch_size": m.batch_size, "lr": m.lr, "device": m.device,
            "pretrained": m.pretrained, "input_size": m.input_size,
            "variants": tuple((name, dict(kw)) for name, kw in s.variants),
            "val_fraction": s.split.val_fraction,
        }
        split = fold or s.split_report
        if split.get("val_fold") is not None:
            kwargs["val_fold"] = int(split["val_fold"])
        else:
            kwargs["val_groups"] = tuple(split["val_groups"])
        kwargs.update(self.overrides)
        return kwargs

    def execute(self, *, on_progress, cancel) -> dict[str, Any]:
        """Run the job(s); returns ``{"run_dir", "metrics", "model_path"}``. Worker thread."""
        from trainer.job import TrainConfig, run

        assert self.run_dir is not None, "prepare() first"
        folds = self.session.split_report.get("folds") if self.session.split.mode == "kfold" else None
        if not folds:
            result = run(TrainConfig(**self.job_kwargs(self.run_dir)), on_progress=on_progress, cancel=cancel)
            return {"run_dir": self.run_dir, "metrics": result.metrics, "model_path": result.model_path}
        docs = []
        for i, fold in enumerate(folds, start=1):
            out = self.run_dir / f"fold{i}"
            on_fold = _prefixed(on_progress, f"fold {i}/{len(folds)}: ")
            docs.append(run(TrainConfig(**self.job_kwargs(out, fold)), on_progress=on_fold, cancel=cancel).metrics)
        doc = combine_folds(docs, self.run_dir)
        return {"run_dir": self.run_dir, "metrics": doc, "model_path": self.run_dir / "model.onnx"}


def _prefixed(on_progress, prefix: str):
    from dataclasses import replace

    return lambda p: on_progress(replace(p, message=prefix + p.message))


def combine_folds(docs: list[dict[str, Any]], run_dir: Path) -> dict[str, Any]:
    """One metrics.json for k-fold: every fold's seeds pooled, the best fold's model kept."""
    from trainer import metrics

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


def _jsonable(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if isinstance(v, (str, int, float, bool, list, dict, type(None)))}
