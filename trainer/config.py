"""``TrainConfig``: every setting of a training run, with laptop-sized defaults.

Settings left ``None`` are resolved from the data (``resolve``): the sample rate
and clip length from the clips themselves, the STFT size from the sample rate and
the input size from the model. The resolved config is written to ``config.json``.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import soundfile as sf

from trainer.cache import FrontendConfig
from trainer.loop import LoopConfig

DEFAULT_SAMPLE_RATE_HZ = 16000
MAX_CLIP_S = 10.0
IMAGENET_INPUT_SIZE = (224, 224)


@dataclass
class TrainConfig:
    data: str
    out: str
    layout: str | None = None
    model: str = "cnn"
    # The loop's settings take the loop's defaults (one source of truth: trainer/loop.py).
    epochs: int = LoopConfig.epochs
    seeds: tuple[int, ...] = (42, 123, 999)
    batch_size: int = LoopConfig.batch_size
    lr: float = LoopConfig.lr
    weight_decay: float = LoopConfig.weight_decay
    warmup_epochs: float = LoopConfig.warmup_epochs
    label_smoothing: float = LoopConfig.label_smoothing
    mixup_alpha: float = LoopConfig.mixup_alpha
    spec_augment: bool = LoopConfig.spec_augment
    patience: int = LoopConfig.patience
    min_epochs: int | None = LoopConfig.min_epochs  # early stopping engages from here (default: half)
    sample_rate_hz: int | None = None
    clip_s: float | None = None
    n_mels: int = 64
    n_fft: int | None = None
    input_size: tuple[int, int] | None = None
    variants: tuple[str, ...] = ()
    val_fraction: float = 0.2
    val_groups: tuple[str, ...] | None = None
    val_fold: int | None = None
    split_seed: int | None = None      # default: the first seed
    device: str = "auto"
    pretrained: bool = False
    weights: str | None = None
    attn: str | None = None
    workers: int | None = None
    loader_workers: int = LoopConfig.loader_workers
    resume: bool = False
    cache_dir: str | None = None       # default: $EARMARK_CACHE_DIR or the user cache folder
    export_tolerance: float = 1e-4
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.seeds = tuple(int(s) for s in self.seeds)
        if not self.seeds:
            raise ValueError("at least one seed is needed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must differ, got {list(self.seeds)}")
        for name in ("epochs", "batch_size", "n_mels"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.patience < 1:
            raise ValueError(f"patience must be >= 1, got {self.patience}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        self.variants = tuple(self.variants or ())
        if self.input_size is not None:
            self.input_size = (int(self.input_size[0]), int(self.input_size[1]))
        if self.val_groups is not None:
            self.val_groups = tuple(str(g) for g in self.val_groups) or None

    @classmethod
    def from_args(cls, args) -> TrainConfig:
        """From ``main.py train``'s argparse namespace (options it lacks keep their defaults)."""
        mapping = {"data": "data", "out": "out", "layout": "layout", "model": "model", "epochs": "epochs",
                   "seeds": "seeds", "batch_size": "batch_size", "lr": "lr", "sample_rate_hz": "sample_rate",
                   "clip_s": "clip_seconds", "n_mels": "n_mels", "input_size": "input_size",
                   "variants": "variants", "val_fraction": "val_fraction", "val_groups": "val_groups",
                   "val_fold": "val_fold", "patience": "patience", "min_epochs": "min_epochs",
                   "device": "device",
                   "pretrained": "pretrained", "weights": "weights", "attn": "attn", "workers": "workers",
                   "resume": "resume", "cache_dir": "cache_dir", "weight_decay": "weight_decay",
                   "label_smoothing": "label_smoothing", "mixup_alpha": "mixup", "n_fft": "n_fft",
                   "loader_workers": "loader_workers", "split_seed": "split_seed"}
        kwargs = {}
        for field_name, arg_name in mapping.items():
            value = getattr(args, arg_name, None)
            if value is not None:
                kwargs[field_name] = value
        return cls(**kwargs)

    def cache_root(self) -> Path:
        if self.cache_dir:
            return Path(self.cache_dir)
        if os.environ.get("EARMARK_CACHE_DIR"):
            return Path(os.environ["EARMARK_CACHE_DIR"])
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("earmark")) / "features"

    def resolve(self, manifest) -> TrainConfig:
        """A copy with every ``None`` setting filled in from the data and the model."""
        from trainer.models import model_info

        info = model_info(self.model)
        rate_hz, clip_s = self.sample_rate_hz, self.clip_s
        if rate_hz is None or clip_s is None:
            probed_rate_hz, probed_s = _probe_clips(manifest)
            rate_hz = rate_hz or min(DEFAULT_SAMPLE_RATE_HZ, probed_rate_hz)
            clip_s = clip_s or probed_s
        n_fft = self.n_fft or 2 ** round(math.log2(0.064 * rate_hz))
        resolved = dataclasses.replace(self, sample_rate_hz=int(rate_hz), clip_s=float(clip_s), n_fft=int(n_fft),
                                       split_seed=self.seeds[0] if self.split_seed is None else self.split_seed,
                                       layout=manifest.layout)
        if resolved.input_size is None:
            frames = resolved.frontend().n_samples // (resolved.n_fft // 4) + 1
            side = info.min_input_size
            resolved.input_size = (IMAGENET_INPUT_SIZE if info.default_in_chans == 3
                                   else (max(side, self.n_mels), max(side, frames)))
        return resolved

    def frontend(self) -> FrontendConfig:
        if self.sample_rate_hz is None or self.clip_s is None:
            raise ValueError("resolve() the config before asking for its frontend")
        return FrontendConfig(sample_rate_hz=self.sample_rate_hz, clip_s=self.clip_s, n_mels=self.n_mels,
                              n_fft=self.n_fft or 1024)

    def loop_config(self) -> LoopConfig:
        """The loop's settings of this run (the fields the two configs share)."""
        return LoopConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(LoopConfig)
                             if hasattr(self, f.name)})

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _probe_clips(manifest, limit: int = 200) -> tuple[int, float]:
    """The most common sample rate and the median duration (rounded to 0.1 s, at most 10 s)."""
    rates, durations = Counter(), []
    step = max(1, len(manifest.clips) // limit)
    for clip in manifest.clips[::step]:
        try:
            info = sf.info(str(clip.path))
        except (OSError, RuntimeError, ValueError):
            continue  # unreadable clips are reported when the cache decodes them
        rates[int(info.samplerate)] += 1
        durations.append(info.frames / info.samplerate)
    if not durations:
        return DEFAULT_SAMPLE_RATE_HZ, 5.0
    durations.sort()
    median_s = durations[len(durations) // 2]
    return rates.most_common(1)[0][0], float(min(MAX_CLIP_S, max(0.1, round(median_s, 1))))
