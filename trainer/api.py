"""The trainer's service layer: the only module ``gui/`` imports from ``trainer``.

Importing it loads neither torch nor scikit-learn (an import-linter contract keeps
``gui`` to this module; ``tests/trainer/test_api.py`` checks the import stays light).
Every long operation is a job in the sense of :mod:`engine.jobs`::

    operation(request, *, on_progress, cancel) -> result

called from the command line, from a worker thread of the app
(``gui.workers``) or from a script, and stopping cooperatively when ``cancel`` fires.
Quick queries (``list_models``, ``augmentations``) are plain functions.

Operations
    train            hold-out training, or cross-validation when ``request.folds`` is set
    cross_validate   k-fold training pooled into one metrics.json (``trainer.run.crossval``)
    preview_split    the splits (or folds) a request would train on, with the leakage audit
    render_variants  the original and one draw of each augmentation variant of a clip
    audit            rank a data set's clips by how likely their label is wrong
    export_checkpoint  export a cancelled run's best kept checkpoint (``trainer.run.salvage``)
    warm_up          import the training stack (torch) and report the machine's device
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.jobs import Cancelled, CancelToken, JobWarning, Progress, ignore_progress
from trainer import warmup
from trainer.recipe import DEFAULT_CV_FOLDS, RESUMABLE_FIELDS, TrainRequest

__all__ = ["AuditRequest", "Cancelled", "CancelToken", "JobWarning", "ModelSummary", "Progress", "SplitRequest",
           "DEFAULT_CV_FOLDS", "TrainRequest", "TrainingEnvironment", "Variant", "VariantsRequest", "RESUMABLE_FIELDS",
           "audit", "augmentations", "check_pretrained", "check_variant", "cross_validate", "explain_clip",
           "gradcam_clip", "list_models", "missing_training_packages", "preview_split",
           "render_variants", "train", "warm_up", "write_suspects", "leave_process_group"]

ProgressFn = Callable[[Progress], None]
TRAINING_PACKAGES = ("torch", "torchvision", "sklearn", "onnx", "cleanlab")
PREVIEW_MAX_RATE_HZ = 16000       # the job trains at min(16 kHz, the data's rate)
PREVIEW_MAX_S = 5.0


# ---- requests and results -----------------------------------------------------------------------
@dataclass(frozen=True)
class SplitRequest:
    """Which split to preview: ``manifest`` (already grouped as wanted), hold-out or k-fold."""

    manifest: Any
    column: str = "native"             # what the person chose to group by (for the report)
    mode: str = "holdout"              # "holdout" | "kfold"
    val_fraction: float = TrainRequest.val_fraction
    k: int = DEFAULT_CV_FOLDS
    val_fold: int | None = None
    seed: int = TrainRequest.split_seed

    @property
    def by(self) -> str:
        return "fold" if self.column == "fold" else "group"


@dataclass(frozen=True)
class VariantsRequest:
    """A clip and the variants (``(name, kwargs)``) to render as the feature cache draws them."""

    path: Path
    clip_index: int
    variants: tuple[tuple[str, dict[str, Any]], ...] = ()
    seed: int = TrainRequest.split_seed
    max_rate_hz: int = PREVIEW_MAX_RATE_HZ
    max_s: float = PREVIEW_MAX_S


@dataclass(frozen=True)
class Variant:
    name: str
    samples: Any                       # float32 numpy array
    sample_rate_hz: int


@dataclass(frozen=True)
class AuditRequest:
    """Rank ``manifest``'s clips (``model_path``: score with that ONNX model instead of CV)."""

    manifest: Any
    model_path: Path | None = None
    folds: int = 5           # grouped cross-validation folds (main.py audit's defaults too)
    seed: int = 0


@dataclass(frozen=True)
class ModelSummary:
    name: str
    has_pretrained: bool
    min_input_size: int
    default_in_chans: int


@dataclass(frozen=True)
class TrainingEnvironment:
    """What :func:`warm_up` found: the best device and every backbone."""

    best_device: str
    devices: tuple[str, ...]
    models: tuple[ModelSummary, ...] = field(default_factory=tuple)


# ---- availability and quick queries -------------------------------------------------------------
def missing_training_packages() -> list[str]:
    """The training packages that cannot be found (without importing any of them)."""
    import importlib.util

    missing = []
    for name in TRAINING_PACKAGES:
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except (ImportError, ValueError):
            missing.append(name)
    return missing


def list_models() -> list[ModelSummary]:
    """Every registered backbone (imports torch)."""
    from trainer.models import list_models as names
    from trainer.models import model_info

    out = []
    for name in names():
        info = model_info(name)
        out.append(ModelSummary(name, bool(info.has_pretrained), int(info.min_input_size),
                                int(info.default_in_chans)))
    return out


def warm_up(request: Any = None, *, on_progress: ProgressFn = ignore_progress,
            cancel: CancelToken | None = None) -> TrainingEnvironment:
    """Import the training stack (torch: seconds the first time) and describe the machine.
    Run it in a worker thread before showing anything that needs it."""
    on_progress(Progress("prepare", 0, 1, "loading the training packages"))
    with warmup.no_collection_pauses():
        warmup.preload_torch_libraries()
        from trainer.run.loop import choose_device

        best = choose_device("auto").type
        models = tuple(list_models())
        warmup.warm_augmentations()
    devices = (best, "cpu") if best != "cpu" else ("cpu",)
    env = TrainingEnvironment(best, devices, models)
    on_progress(Progress("prepare", 1, 1, f"training packages loaded; device {best}", fraction=1.0))
    return env


def check_pretrained(name: str) -> None:
    """Raise ``PretrainedWeightsError`` (saying where it looked) when no local ImageNet weights exist."""
    from trainer.models import create_model

    create_model(name, num_classes=2, pretrained=True)


def augmentations() -> dict[str, dict[str, Any]]:
    """Every cached augmentation by name, with its tunable arguments and their defaults (``p`` aside)."""
    import inspect

    from trainer.augment import AUGMENTATIONS

    out = {}
    for name, cls in AUGMENTATIONS.items():
        params = {}
        for arg, param in inspect.signature(cls.__init__).parameters.items():
            if arg in ("self", "p") or param.default is inspect.Parameter.empty:
                continue
            params[arg] = param.default
        out[name] = params
    return out


def check_variant(name: str, kwargs: dict[str, Any]) -> None:
    """Raise ValueError saying what is wrong with an augmentation's arguments."""
    from trainer.augment import create_augmentation

    create_augmentation(name, **kwargs)


# ---- jobs ---------------------------------------------------------------------------------------
def train(request: TrainRequest, *, on_progress: ProgressFn = ignore_progress, cancel: CancelToken | None = None):
    """Train, evaluate and export (``trainer.run.job.RunResult``); k-fold when ``request.folds``."""
    if request.folds:
        return cross_validate(request, on_progress=on_progress, cancel=cancel)
    from trainer.run.holdout import train_holdout

    return train_holdout(request, on_progress=on_progress, cancel=cancel)


def leave_process_group() -> None:
    """Under ``torchrun``: leave the process group the training runs shared (the command's last step)."""
    from trainer.run.distributed import teardown

    teardown()


def cross_validate(request: TrainRequest, *, on_progress: ProgressFn = ignore_progress,
                   cancel: CancelToken | None = None):
    from trainer.run.crossval import cross_validate as _cross_validate

    return _cross_validate(request, on_progress=on_progress, cancel=cancel)


def preview_split(request: SplitRequest, *, on_progress: ProgressFn = ignore_progress,
                  cancel: CancelToken | None = None) -> dict[str, Any]:
    """The split (or folds) and the leakage audit of each, as plain data. Raises ValueError."""
    from trainer.run.crossval import describe_splits, make_splits

    splits = make_splits(request.manifest, mode=request.mode, by=request.by, k=request.k,
                         val_fraction=request.val_fraction, val_fold=request.val_fold, seed=request.seed)
    return describe_splits(request.manifest, splits, mode=request.mode, column=request.column)


def render_variants(request: VariantsRequest, *, on_progress: ProgressFn = ignore_progress,
                    cancel: CancelToken | None = None) -> list[Variant]:
    """The original (at most ``max_s`` at min(``max_rate_hz``, the clip's rate)) and one draw of
    each variant, drawn as the feature cache draws them. Raises AudioLoadError."""
    from trainer.data.prepare import render_clip_variants

    cancel = cancel or CancelToken()
    rendered = render_clip_variants(request.path, request.clip_index, request.variants, request.seed,
                                    max_rate_hz=request.max_rate_hz, max_s=request.max_s, cancel=cancel)
    names = ["original", *(name for name, _ in request.variants)]
    return [Variant(name, samples, rate_hz) for name, (samples, rate_hz) in zip(names, rendered, strict=True)]


def audit(request: AuditRequest, *, on_progress: ProgressFn = ignore_progress, cancel: CancelToken | None = None):
    """Rank the clips, most suspect label first (``trainer.audit.rank.AuditResult``)."""
    from trainer.audit.rank import rank_suspects

    return rank_suspects(request.manifest, model_path=request.model_path, folds=request.folds,
                         seed=request.seed, on_progress=on_progress, cancel=cancel)


def export_checkpoint(run_dir: str | Path, *, on_progress: ProgressFn = ignore_progress,
                      cancel: CancelToken | None = None) -> Path:
    """Export the best kept checkpoint of a cancelled run to ``<run>/salvaged_model.onnx``; its
    metadata says ``"cancelled": true``, the epoch/seed (and fold) and that figures are incomplete."""
    from trainer.run.salvage import export_checkpoint as _export

    return _export(run_dir, on_progress=on_progress, cancel=cancel)


def write_suspects(result, path) -> Path:
    from trainer.audit.rank import write_suspects as _write

    return _write(result, path)


def explain_clip(result, index: int):
    """(saliency [n_mels, frames], mel centres Hz, hop s) of an audited clip under its fold model."""
    from trainer.audit.rank import HOP_S, explain, mel_centres_hz

    _logmel, saliency = explain(result, index)
    return saliency, mel_centres_hz(), HOP_S


def gradcam_clip(torch_model, samples):
    """Grad-CAM of a torch classifier for one clip (``trainer.audit.saliency.gradcam_for_clip``)."""
    from trainer.audit.saliency import gradcam_for_clip

    return gradcam_for_clip(torch_model, samples)
