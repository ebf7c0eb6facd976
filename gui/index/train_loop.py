""""Train from these labels": the labelled windows of an index become a data set, a model is trained
on it, and the folder is indexed again by that model — one job, run by the Label window in a
:class:`gui.workers.job_worker.JobWorker`.

The data set is :func:`engine.index.labelling.dataset_job` (``main.py clips --index``); the training
is ``trainer.api:train`` (``main.py train``) in a child process of its own
(:class:`engine.jobs.process.ProcessRunner`, as the audit's ranking runs), so torch never loads in
the app's process; the re-score is :func:`engine.index.labelling.rescore_job` (a new index,
``main.py index`` with the new model). Each step reports through the same ``on_progress`` and stops
at the same ``cancel``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.errors import EarmarkError
from engine.index.labelling import DatasetRequest, RescoreRequest, dataset_job, rescore_job
from engine.jobs import CancelToken, Progress
from engine.jobs.process import ProcessRunner

TRAIN_PROCESS = "The training process of the Label window"
STOP_S = 5.0
SHARES = {"data": (0.0, 0.05), "train": (0.05, 0.9), "index": (0.9, 1.0)}   # of the whole job, per step


@dataclass(frozen=True)
class LoopRequest:
    index: Path                  # the index whose folder's labelled regions are trained on
    run_dir: Path                # data/, run/ and index/ are written here
    recipe: dict[str, Any] = field(default_factory=dict)   # TrainRequest fields (default: the recipe's)


@dataclass(frozen=True)
class LoopResult:
    csv_path: Path
    counts: dict[str, int]
    model_path: Path
    new_index: Path
    labels: list[str]


def _scaled(on_progress, step: str):
    low, high = SHARES[step]

    def report(p: Progress) -> None:
        fraction = p.fraction if p.fraction is not None else p.stage_fraction
        on_progress(replace(p, fraction=None if fraction is None else low + (high - low) * min(max(fraction, 0.0), 1.0)))
    return report


def loop_job(request: LoopRequest, *, on_progress, cancel: CancelToken) -> LoopResult:
    from trainer.api import TrainRequest, missing_training_packages

    run_dir = Path(request.run_dir)
    on_progress(Progress("data", 0, 3, "Cutting the labelled windows into a data set", fraction=0.0))
    clips = dataset_job(DatasetRequest(Path(request.index), run_dir / "data", force=True),
                        on_progress=_scaled(on_progress, "data"), cancel=cancel)
    if len(clips.counts) < 2:
        raise EarmarkError(f"a model needs at least two labels; the labelled windows have only "
                           f"{', '.join(clips.counts) or 'none'} (label some as background, B)")
    missing = missing_training_packages()
    if missing:
        raise EarmarkError(f"Training needs the training extras (pip install .[train]); not found: {', '.join(missing)}")
    train = TrainRequest(**{"data": str(clips.csv_path), "layout": "csv", "out": str(run_dir / "run"),
                            **request.recipe})
    on_progress(Progress("train", 0, 1, f"Training on {clips.n_clips} clips", fraction=SHARES["train"][0]))
    runner = ProcessRunner(TRAIN_PROCESS, preload=("trainer.api",))
    try:
        runner.call("trainer.api:train", train, on_progress=_scaled(on_progress, "train"), cancel=cancel)
    except ImportError as exc:
        raise EarmarkError(f"Training needs the training extras (pip install .[train]): {exc}") from exc
    finally:
        runner.close(STOP_S)
    model = run_dir / "run" / "model.onnx"
    if not model.is_file():
        raise EarmarkError(f"the training ended without a model ({model} is missing)")
    on_progress(Progress("index", 0, 1, "Re-scoring the folder with the new model", fraction=SHARES["index"][0]))
    result = rescore_job(RescoreRequest(Path(request.index), model, out=run_dir / "index"),
                         on_progress=_scaled(on_progress, "index"), cancel=cancel)
    from engine.index.search import Index

    labels = Index(result.out).labels
    on_progress(Progress("done", 3, 3, "done", fraction=1.0))
    return LoopResult(clips.csv_path, dict(clips.counts), model, result.out, labels)
