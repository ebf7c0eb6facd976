"""The wizard's state: a plain, Qt-free object the pages write and read.

Pages are views of a :class:`TrainSession`; they set its choices through methods and
listen to its events (``"data"``, ``"split"``, ``"run"``), so no page knows another.
Everything here is torch-free: the data summary and the group columns only need
``engine``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.datasets.grouping import NATIVE, DataSummary, default_column, regroup, summarise
from engine.datasets.manifest import Manifest, read_manifest
from engine.events import Emitter
from engine.jobs.process import ProcessRunner
from trainer.api import DEFAULT_CV_FOLDS, TrainRequest  # torch-free: the recipe and its defaults

TRAINER_PROCESS = "The training process"

@dataclass
class SplitChoice:
    column: str = NATIVE
    mode: str = "holdout"                  # "holdout" | "kfold"
    val_fraction: float = TrainRequest.val_fraction
    k: int = DEFAULT_CV_FOLDS
    val_fold: int | None = None
    seed: int = TrainRequest.split_seed


@dataclass
class ModelChoice:
    """The model page's choices; defaults are the recipe's (trainer/recipe.py)."""

    name: str = TrainRequest.model
    input_size: tuple[int, int] | None = None
    pretrained: bool = TrainRequest.pretrained
    epochs: int = TrainRequest.epochs
    lr: float = TrainRequest.lr
    batch_size: int = TrainRequest.batch_size
    seeds: tuple[int, ...] = TrainRequest.seeds
    device: str = "cpu"


@dataclass
class TrainSession:
    """Everything the wizard has chosen so far, and the run it made."""

    source: Path | None = None
    use_edits: bool = True
    manifest: Manifest | None = None
    summary: DataSummary | None = None
    split: SplitChoice = field(default_factory=SplitChoice)
    split_report: dict[str, Any] | None = None       # what the split page showed (sizes, leakage)
    variants: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    model: ModelChoice = field(default_factory=ModelChoice)
    run_dir: Path | None = None
    metrics: dict[str, Any] | None = None
    exported: Path | None = None
    # the trainer's jobs run here, never in the app's process (torch holds the GIL for up to a second
    # at a time); one warm child for the wizard's lifetime, started by the first job
    trainer: ProcessRunner = field(default_factory=lambda: ProcessRunner(TRAINER_PROCESS, preload=("trainer.api",)),
                                   repr=False, compare=False)
    _events: Emitter = field(default_factory=lambda: Emitter(("data", "split", "run")), repr=False, compare=False)

    def trainer_job(self, operation: str, *, cancel_grace_s: float | None = None):
        """``trainer.api.<operation>`` as a job run in the training process."""
        return self.trainer.job(f"trainer.api:{operation}", cancel_grace_s=cancel_grace_s)

    def subscribe(self, event: str, callback: Callable[[Any], None]) -> Callable[[], None]:
        """``callback(payload)`` on every ``data``, ``split`` or ``run`` event; returns the unsubscriber."""
        return self._events.subscribe(event, callback)

    def load_data(self, source: str | Path, *, use_edits: bool = True) -> Manifest:
        """Read the data set (raises ManifestError naming the file and the problem)."""
        manifest = read_manifest(Path(source), use_edits=use_edits)
        self.source, self.use_edits, self.manifest = Path(source), use_edits, manifest
        self.summary = summarise(manifest)
        self.split.column = default_column(manifest)
        self.split_report = None
        self._events.emit("data", manifest)
        return manifest

    def clear_data(self) -> None:
        self.manifest, self.summary, self.split_report = None, None, None
        self._events.emit("data", None)

    def grouped_manifest(self) -> Manifest:
        if self.manifest is None:
            raise ValueError("choose a data set first")
        return regroup(self.manifest, self.split.column)

    def set_split_report(self, report: dict[str, Any] | None) -> None:
        self.split_report = report
        self._events.emit("split", report)

    def set_run(self, run_dir: Path | None, metrics: dict[str, Any] | None) -> None:
        self.run_dir, self.metrics = run_dir, metrics
        self._events.emit("run", run_dir)
