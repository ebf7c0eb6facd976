"""The wizard's state: a plain, Qt-free object the pages write and read.

Pages are views of a :class:`TrainSession`; they set its choices through methods and
listen to its events (``"data"``, ``"split"``, ``"run"``), so no page knows another.
Everything here is torch-free: the data summary and the group columns only need
``engine``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.datasets.manifest import Manifest, read_manifest
from engine.datasets.time_blocks import describe_blocks, group_by_time_blocks, has_spans, needs_time_blocks
from engine.events import Emitter
from engine.jobs.process import ProcessRunner
from trainer.api import DEFAULT_CV_FOLDS, TrainRequest  # torch-free: the recipe and its defaults

TRAINER_PROCESS = "The training process"
TINY_CLASS_CLIPS = 5          # fewer clips than this in a class: warn
UNBALANCED_RATIO = 3.0        # largest / smallest class above this: warn
NATIVE = "native"             # the layout's own split groups (EmoDB speaker, ESC-50 source clip, ...)
BLOCKS = "blocks"             # contiguous time blocks within each source recording (few recordings)
SPAN_COLUMNS = ("source", "start_s", "end_s")  # where a clip was cut: not something to group by


@dataclass
class DataSummary:
    counts: dict[str, int]
    warnings: list[str]
    errors: list[str]         # the pipeline cannot use the data set: the page says why and refuses

    @property
    def usable(self) -> bool:
        return not self.errors


def summarise(manifest: Manifest) -> DataSummary:
    """Class counts, warnings about tiny or unbalanced classes, and reasons the data set is unusable."""
    counts = manifest.class_counts()
    warnings, errors = [], []
    present = {label: n for label, n in counts.items() if n > 0}
    if len(present) < 2:
        errors.append(f"{manifest.root}: {len(present)} class(es) found; a classifier needs at least two "
                      "labels with clips")
    tiny = sorted(label for label, n in present.items() if n < TINY_CLASS_CLIPS)
    if tiny:
        warnings.append(f"Tiny classes (fewer than {TINY_CLASS_CLIPS} clips): {', '.join(tiny)} — their "
                        "recall will be noisy")
    if present and min(present.values()) and max(present.values()) / min(present.values()) > UNBALANCED_RATIO:
        big, small = max(present, key=present.get), min(present, key=present.get)
        warnings.append(f"Unbalanced classes: {big} has {present[big]} clips, {small} has {present[small]} "
                        f"(ratio {present[big] / present[small]:.1f}); look at per-class recall, not accuracy")
    if (len({c.group for c in manifest.clips}) < 2 and not any(c.fold is not None for c in manifest.clips)
            and not has_spans(manifest)):  # clips cut from one recording can still be split by time blocks
        errors.append(f"{manifest.root}: every clip is in one split group; a leak-free split needs at "
                      "least two groups (give the CSV a group or fold column)")
    if "audited labels applied" in manifest.notes:
        warnings.append("Audited label edits found beside the data and applied")
    return DataSummary(counts, warnings, errors)


def group_columns(manifest: Manifest) -> dict[str, str]:
    """The columns a split can be grouped by: key -> what the person reads."""
    columns = {NATIVE: _native_name(manifest)}
    if any(c.fold is not None for c in manifest.clips):
        columns["fold"] = "official fold"
    if any(c.speaker for c in manifest.clips) and manifest.layout != "emodb":
        columns["speaker"] = "speaker"
    if has_spans(manifest):
        columns[BLOCKS] = "time blocks within each recording (for few recordings)"
    columns["file"] = "file (each clip its own group)"
    for name in csv_extra_columns(manifest):
        columns[f"csv:{name}"] = f"CSV column '{name}'"
    return columns


def _native_name(manifest: Manifest) -> str:
    return {"esc50": "source clip (src_file)", "emodb": "speaker",
            "folders": "source clip (file stem)", "csv": "CSV group column (or file stem)"}.get(
        manifest.layout, "group")


def csv_extra_columns(manifest: Manifest) -> list[str]:
    if manifest.layout != "csv" or not manifest.root.is_file():
        return []
    with open(manifest.root, newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), [])
    return [h for h in header if h and h not in ("path", "label", "group", "fold", *SPAN_COLUMNS)]


def regroup(manifest: Manifest, column: str) -> Manifest:
    """A copy whose clip ``group`` is ``column`` (``native`` keeps the layout's own groups)."""
    if column in (NATIVE, "fold"):
        return manifest
    if column == "speaker":
        return manifest.with_clips([replace(c, group=c.speaker or c.group) for c in manifest.clips])
    if column == BLOCKS:
        return group_by_time_blocks(manifest)
    if column == "file":
        return manifest.with_clips([replace(c, group=str(c.path)) for c in manifest.clips])
    if column.startswith("csv:"):
        values = _csv_column(manifest, column[4:])
        return manifest.with_clips([replace(c, group=values.get(c.path) or c.group) for c in manifest.clips])
    raise ValueError(f"unknown group column {column!r}; choose one of {', '.join(group_columns(manifest))}")


def default_column(manifest: Manifest) -> str:
    """The grouping a split starts with: the layout's own, or time blocks within each recording
    when there are fewer recordings than an honest split needs (see engine.datasets.time_blocks)."""
    return BLOCKS if needs_time_blocks(manifest) else NATIVE


def grouping_note(manifest: Manifest, column: str) -> str:
    """What a person should know about grouping ``manifest`` by ``column`` ("" when nothing)."""
    return describe_blocks(regroup(manifest, column)) if column == BLOCKS else ""


def _csv_column(manifest: Manifest, name: str) -> dict[Path, str]:
    base = manifest.root.parent
    with open(manifest.root, newline="", encoding="utf-8-sig") as handle:
        return {(base / row["path"].strip()).resolve(): (row.get(name) or "").strip()
                for row in csv.DictReader(handle)}


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
