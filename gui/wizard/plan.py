"""What the wizard asks the trainer to do: a :class:`trainer.api.TrainRequest` from a :class:`TrainSession`.

``TrainPlan.prepare`` (GUI thread, quick) makes the run folder and writes ``wizard.json``
(data source and summary, split with its leakage audit, variants, model settings) and,
when the split is grouped by a column other than the layout's own or audited labels
are declined, ``data.csv`` (every column the clips carry: path,label,group[,fold][,speaker]) that the job then reads.
``TrainPlan.execute`` (worker thread) calls ``trainer.api.train`` with the request: one
hold-out run, or k-fold cross-validation (``request.folds``) exactly as
``main.py train --folds K`` runs it. No training, splitting or fold combining happens here.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from engine.datasets.csv_file import write_manifest_csv
from engine.datasets.grouping import NATIVE
from gui.wizard.runs import new_run_dir, write_wizard_record
from gui.wizard.session import TrainSession
from trainer.api import TrainRequest


class TrainPlan:
    """One run of the wizard: the run folder and the request the trainer gets."""

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
            self.data = str(write_manifest_csv(s.grouped_manifest(), self.run_dir / "data.csv", relative=False))
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

    def request(self, out: Path | None = None) -> TrainRequest:
        """The request for the trainer: the same one ``main.py train`` builds from its options."""
        s, m = self.session, self.session.model
        kwargs: dict[str, Any] = {
            "data": self.data, "out": str(out or self.run_dir), "layout": self.layout, "model": m.name,
            "epochs": m.epochs, "seeds": tuple(m.seeds), "batch_size": m.batch_size, "lr": m.lr,
            "device": m.device, "pretrained": m.pretrained, "input_size": m.input_size,
            "variants": tuple((name, dict(kw)) for name, kw in s.variants),
            "val_fraction": s.split.val_fraction, "split_seed": s.split.seed,
        }
        if s.split.mode == "kfold":
            kwargs.update(folds=s.split.k if s.split.column != "fold" else len(s.split_report["folds"]),
                          cv_by="fold" if s.split.column == "fold" else "group")
        elif s.split_report.get("val_fold") is not None:
            kwargs["val_fold"] = int(s.split_report["val_fold"])
        else:   # the validation groups the split page showed
            kwargs["val_groups"] = tuple(s.split_report["val_groups"])
        kwargs.update(self.overrides)
        return TrainRequest(**kwargs)

    def execute(self, *, on_progress, cancel, train=None) -> dict[str, Any]:
        """Run the request; returns ``{"run_dir", "metrics", "model_path"}``. Worker thread.
        ``train``: the job that trains (the wizard's: ``trainer.api.train`` in its training process)."""
        if train is None:
            from trainer import api

            train = api.train
        assert self.run_dir is not None, "prepare() first"
        result = train(self.request(), on_progress=on_progress, cancel=cancel)
        return {"run_dir": self.run_dir, "metrics": result.metrics, "model_path": result.model_path}


def _jsonable(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if isinstance(v, (str, int, float, bool, list, dict, type(None)))}
