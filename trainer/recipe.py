"""``TrainRequest``: every setting of a training run, torch-free, with laptop-sized defaults.

This is the one place training defaults are written: the command line
(``main.py train``), the wizard, ``trainer.run.loop.LoopConfig`` and scripts read them
from here. Settings left ``None`` are resolved from the data (``trainer.run.resolve``): the sample
rate and clip length from the clips themselves, the STFT size from the sample rate and
the input size from the model. The resolved request is written to ``config.json``.

Importing this module loads neither torch nor numpy, and it imports nothing of the trainer: a
pure schema. Filling its ``None`` settings in from the data and the model, and deriving the
frontend and the loop's settings, is :mod:`trainer.run.resolve`'s job.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_SAMPLE_RATE_HZ = 16000
# The model's window is long enough for nearly every clip (the 95th percentile of their
# lengths), at most MAX_WINDOW_S: shorter clips are padded, longer ones cut into windows whose
# predictions are averaged, so no clip loses audio by default. (The median, used before,
# gave a 0.4 s window on clips of 0.15-2.3 s and cut off half of most of them.)
MAX_WINDOW_S = 5.0
WINDOW_QUANTILE = 0.95
IMAGENET_INPUT_SIZE = (224, 224)
CV_BY = ("group", "fold")
DEFAULT_CV_FOLDS = 5       # what the wizard's k-fold offers first
# Fields that may change between a run and its ``--resume``: where and how fast it runs,
# not what it learns.
RESUMABLE_FIELDS = frozenset({"out", "resume", "device", "workers", "loader_workers", "cache_dir",
                              "export_tolerance"})


@dataclass
class TrainRequest:
    """What to train, on what, and how. Shared by ``main.py train``, the wizard and scripts."""

    data: str
    out: str
    layout: str | None = None
    model: str = "vgg4"
    epochs: int = 40
    # One seed by default (cross-validation's folds give the spread); more seeds, more cost.
    seeds: tuple[int, ...] = (42,)
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-2
    warmup_epochs: float = 5.0
    label_smoothing: float = 0.1
    mixup_alpha: float = 0.2
    spec_augment: bool = True
    # SpecAugment's (frequency, time) mask counts per example, and the widest time mask as a share
    # of the window's frames (0: 16 frames whatever the window; 0.32 of a 0.5 s window, 0.03 of 5 s).
    spec_masks: tuple[int, int] = (2, 2)
    time_mask_share: float = 0.0
    # Weight averaging (EMA) per step; 0 turns it off.
    ema_decay: float = 0.99
    # Each training example rolls by up to this share of its window, on the fly.
    time_shift: float = 0.25
    # Each training example's mel axis and time axis rescaled by up to these shares, on the fly
    # (trainer/augment/warp.py: vocal tract length and tempo perturbation).
    freq_warp: float = 0.0
    time_warp: float = 0.0
    # Each mel band z-scored by the statistics of the clip's speaker (trainer/data/speaker_norm.py)
    # instead of each window standardised by itself. None: on when every clip names a speaker.
    speaker_norm: bool | None = None
    # Early stopping: None (the default) runs the whole schedule and keeps its last averaged
    # weights; validation then chooses only the seed. On EmoDB the validation loss of one held-out
    # speaker chose epoch 19 of 40 in a fold whose refit for those epochs scored test macro F1 0.54,
    # where the whole schedule scored 0.65-0.68 on such folds (docs/RECIPE.md). An integer N stops
    # after N epochs without a better validation loss and keeps the best epoch's weights.
    patience: int | None = None
    # Early stopping engages only from this epoch on (None: half the epochs). On small data
    # sets an epoch is a handful of steps, BatchNorm's running statistics still lag and the
    # validation loss often rises before it falls; the best checkpoint guards against
    # overfitting anyway, so stopping too soon is the costlier mistake.
    min_epochs: int | None = None
    sample_rate_hz: int | None = None
    clip_s: float | None = None
    n_mels: int = 64
    n_fft: int | None = None          # None: about 32 ms at the sample rate
    hop_s: float = 0.010
    input_size: tuple[int, int] | None = None
    variants: tuple[Any, ...] = ()      # names, or (name, kwargs) pairs
    # Hold-out runs split three ways by group: test (reported only), validation (chooses the
    # epoch and seed), training. The validation share is of the whole data set.
    test_fraction: float = 0.2
    test_groups: tuple[str, ...] | None = None
    test_fold: int | None = None
    val_fraction: float = 0.2
    val_groups: tuple[str, ...] | None = None
    val_fold: int | None = None
    # Train on every clip and stop after this epoch of the ``epochs`` schedule (no figures):
    # how cross-validation makes the model it ships.
    refit_epochs: int | None = None
    # Cross-validation: each fold's test figures come from a refit on all its non-test groups for
    # the epochs its validation side chose, as the shipped model is made (twice the training).
    # False: the choosing run's own model, trained without the validation groups, is tested.
    refit_folds: bool = True
    # A hold-out run ships the model refit on every clip (training, validation and test groups) for the
    # epochs and seed validation chose; its figures stay the held-out model's (trainer/run/holdout.py).
    # False: ship the held-out model itself, trained without the validation and test groups.
    refit: bool = True
    # The split (and the cached variants' draws) do not move when the training seeds change.
    split_seed: int = 0
    folds: int | None = None           # k-fold cross-validation instead of one hold-out split
    cv_by: str = "group"               # "group": grouped k-fold; "fold": the data set's own folds
    device: str = "auto"
    pretrained: bool = False
    weights: str | None = None
    attn: str | None = None
    workers: int | None = None
    loader_workers: int = 0
    resume: bool = False
    cache_dir: str | None = None       # default: $EARMARK_CACHE_DIR or the user cache folder
    export_tolerance: float = 1e-4

    def __post_init__(self) -> None:
        self.seeds = tuple(int(s) for s in self.seeds)
        if not self.seeds:
            raise ValueError("at least one seed is needed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must differ, got {list(self.seeds)}")
        for name in ("epochs", "batch_size", "n_mels"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be >= 1, got {self.patience}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.folds is not None and self.folds < 2:
            raise ValueError(f"folds must be >= 2 for cross-validation, got {self.folds}")
        if self.folds is not None and (self.val_groups or self.val_fold is not None or self.test_groups
                                       or self.test_fold is not None):
            raise ValueError("cross-validation (folds) chooses every fold's test and validation groups itself; "
                             "drop val_groups / val_fold / test_groups / test_fold, or drop folds for one "
                             "hold-out split")
        for name in ("val_fraction", "test_fraction"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name} must lie strictly between 0 and 1, got {getattr(self, name)}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie in [0, 1), got {self.ema_decay}")
        if not 0.0 <= self.time_shift <= 0.5:
            raise ValueError(f"time_shift must lie in [0, 0.5], got {self.time_shift}")
        for name in ("freq_warp", "time_warp"):
            if not 0.0 <= getattr(self, name) <= 0.5:
                raise ValueError(f"{name} must lie in [0, 0.5], got {getattr(self, name)}")
        if self.refit_epochs is not None and not 1 <= self.refit_epochs <= self.epochs:
            raise ValueError(f"refit_epochs must lie in 1..epochs ({self.epochs}), got {self.refit_epochs}")
        if self.cv_by not in CV_BY:
            raise ValueError(f"cv_by must be one of {', '.join(CV_BY)}, got {self.cv_by!r}")
        self.variants = tuple(tuple(v) if isinstance(v, list) else v for v in (self.variants or ()))
        if self.input_size is not None:
            self.input_size = (int(self.input_size[0]), int(self.input_size[1]))
        if self.val_groups is not None:
            self.val_groups = tuple(str(g) for g in self.val_groups) or None
        if self.test_groups is not None:
            self.test_groups = tuple(str(g) for g in self.test_groups) or None

    # ---- from and to other forms ----------------------------------------------------------------
    @classmethod
    def from_args(cls, args) -> TrainRequest:
        """From ``main.py train``'s argparse namespace (options it lacks keep their defaults)."""
        kwargs = {}
        for field_name, arg_name in ARG_NAMES.items():
            value = getattr(args, arg_name, None)
            if value is not None:
                kwargs[field_name] = value
        return cls(**kwargs)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every field's default (``data`` and ``out`` have none)."""
        out = {}
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                out[f.name] = f.default
        return out

    def replace(self, **changes) -> TrainRequest:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def differences(self, saved: dict[str, Any]) -> list[str]:
        """The fields (beside the runtime ones) whose value differs from a saved ``config.json``,
        as ``name: saved -> now`` lines; [] when a resume may continue."""
        now = _normalised(self.to_json())
        before = _normalised(saved)
        lines = []
        for name in sorted(set(now) & set(before)):   # a field older runs lack: nothing to compare
            if name in RESUMABLE_FIELDS:
                continue
            if now.get(name) != before.get(name):
                lines.append(f"{name}: {before.get(name)!r} -> {now.get(name)!r}")
        return lines


# main.py train's option names (dest) for each request field
ARG_NAMES = {"data": "data", "out": "out", "layout": "layout", "model": "model", "epochs": "epochs",
             "seeds": "seeds", "batch_size": "batch_size", "lr": "lr", "sample_rate_hz": "sample_rate",
             "clip_s": "clip_seconds", "n_mels": "n_mels", "input_size": "input_size",
             "variants": "variants", "val_fraction": "val_fraction", "val_groups": "val_groups",
             "val_fold": "val_fold", "patience": "patience", "min_epochs": "min_epochs",
             "device": "device", "pretrained": "pretrained", "weights": "weights", "attn": "attn",
             "workers": "workers", "resume": "resume", "cache_dir": "cache_dir",
             "weight_decay": "weight_decay", "label_smoothing": "label_smoothing", "mixup_alpha": "mixup",
             "n_fft": "n_fft", "loader_workers": "loader_workers", "split_seed": "split_seed",
             "folds": "folds", "cv_by": "cv_by", "test_fraction": "test_fraction", "test_groups": "test_groups",
             "test_fold": "test_fold", "ema_decay": "ema", "time_shift": "time_shift",
             "freq_warp": "freq_warp", "time_warp": "time_warp", "refit_folds": "refit_folds", "refit": "refit",
             "speaker_norm": "speaker_norm"}


def _normalised(doc: dict[str, Any]) -> dict[str, Any]:
    """JSON-shaped values (tuples as lists) with paths made absolute, so a saved config compares."""
    import json

    out = json.loads(json.dumps(doc, default=str))
    if out.get("data"):
        out["data"] = str(Path(out["data"]).expanduser().resolve())
    return out
