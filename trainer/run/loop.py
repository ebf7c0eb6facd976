"""The one training loop, configured: AdamW, warm-up + cosine, label smoothing,
SpecAugment + mixup on the fly, early stopping on validation loss, checkpoints.

Reproducible and resumable: every epoch draws its shuffling, augmentation and
dropout from generators seeded by ``(seed, epoch)``, and ``last.pt`` holds the
model, optimiser, schedule and scaler after each epoch, so a resumed run ends
with the same weights as an uninterrupted one. On CUDA: autocast (bf16, or fp16
with a GradScaler), channels-last, pinned memory and non-blocking copies. Under
``torchrun``: DistributedDataParallel, rank 0 writes, all ranks stop together.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from engine.atomic import atomic_write_with
from trainer.augment import mixup, spec_augment, spec_warp
from trainer.recipe import TrainRequest
from trainer.run.distributed import DistContext, all_reduce_mean, broadcast_flag


@dataclass
class LoopConfig:
    # The defaults are the recipe's (one source of truth: trainer/recipe.py).
    epochs: int = TrainRequest.epochs
    batch_size: int = TrainRequest.batch_size
    lr: float = TrainRequest.lr
    weight_decay: float = TrainRequest.weight_decay
    warmup_epochs: float = TrainRequest.warmup_epochs
    label_smoothing: float = TrainRequest.label_smoothing
    mixup_alpha: float = TrainRequest.mixup_alpha
    spec_augment: bool = TrainRequest.spec_augment
    spec_masks: tuple[int, int] = TrainRequest.spec_masks
    time_mask_share: float = TrainRequest.time_mask_share
    patience: int | None = TrainRequest.patience   # None: no early stopping, the last epoch is kept
    min_epochs: int | None = TrainRequest.min_epochs  # early stopping engages from here (None: half)
    loader_workers: int = TrainRequest.loader_workers
    ema_decay: float = TrainRequest.ema_decay
    time_shift: float = TrainRequest.time_shift
    freq_warp: float = TrainRequest.freq_warp
    time_warp: float = TrainRequest.time_warp
    refit_epochs: int | None = TrainRequest.refit_epochs   # train on everything, stop after this epoch
    amp: bool = True
    # Mixed precision and channels-last. None: on CUDA, and on CPUs that compute bfloat16 natively
    # (AVX-512 BF16 or AMX), where a training epoch of the default recipe took 2.3x less time
    # (docs/RECIPE.md); False: float32 everywhere. Evaluation on a CPU always runs in float32, so
    # reported figures are those of the float32 model that is exported.
    accelerated: bool | None = None


@dataclass
class FitResult:
    best_epoch: int
    best_val_loss: float
    history: list[dict[str, float]] = field(default_factory=list)
    stopped_early: bool = False


StepFn = Callable[[int, int, int, float], None]     # (epoch, step, steps_per_epoch, train_loss)
EpochFn = Callable[[dict[str, float]], None]


def choose_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """``auto``: CUDA, then Apple MPS, then CPU. An unavailable explicit choice is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but no CUDA GPU is available (try --device auto)")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("--device mps was asked for but Apple MPS is not available (try --device auto)")
    if name == "cuda":
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed python, numpy's legacy global and torch (model initialisation draws from torch's)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0] % 2**63)


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Write a checkpoint atomically (a crash leaves the previous one)."""
    atomic_write_with(path, lambda tmp: torch.save(state, tmp), suffix=".pt")


def load_state(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)


class Trainer:
    """Fits one model (a :class:`trainer.models.frontend.Classifier`) on cached log-mels."""

    def __init__(self, model: nn.Module, train_ds: Dataset, val_ds: Dataset, config: LoopConfig, *,
                 seed: int, device: torch.device, checkpoint_dir: Path | None = None, tb_dir: Path | None = None,
                 ctx: DistContext | None = None, on_step: StepFn | None = None, on_epoch: EpochFn | None = None,
                 cancel=None) -> None:
        self.config, self.seed, self.device = config, seed, device
        self.ctx = ctx or DistContext()
        self.train_ds, self.val_ds = train_ds, val_ds
        self.checkpoint_dir, self.tb_dir = checkpoint_dir, tb_dir
        self.on_step = on_step or (lambda *a: None)
        self.on_epoch = on_epoch or (lambda r: None)
        self.cancel = cancel
        self.cuda = device.type == "cuda"
        auto = self.cuda or (device.type == "cpu" and cpu_has_fast_bf16())
        self.accelerated = auto if config.accelerated is None else bool(config.accelerated)
        self.amp_dtype = _amp_dtype(device) if config.amp and self.accelerated else None
        self.model = model.to(device)
        if self.accelerated:
            self.model = self.model.to(memory_format=torch.channels_last)
        if self.cuda:
            torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick its kernels
        self.net = self._wrap(self.model)
        # Weight averaging: validation, checkpoints and the export use the running average of the
        # weights (and of BatchNorm's statistics), which is smoother than the last step's weights.
        self.ema = None
        if config.ema_decay and 0.0 < config.ema_decay < 1.0:
            from torch.optim.swa_utils import AveragedModel

            self.ema = AveragedModel(self.model, avg_fn=_ema_step(config.ema_decay), use_buffers=True)
        self.per_rank_batch = max(1, config.batch_size // self.ctx.world_size)
        self.steps_per_epoch = max(1, len(self._loader(0)))
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.num_classes = int(getattr(model, "num_classes", 0) or _infer_classes(model, train_ds, device))

    def _wrap(self, model: nn.Module) -> nn.Module:
        if not self.ctx.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        if self.cuda:
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
            return DistributedDataParallel(model, device_ids=[self.device.index])
        return DistributedDataParallel(model)

    def _lr_factor(self, step: int) -> float:
        total = self.config.epochs * self.steps_per_epoch
        warmup = min(total - 1, int(round(self.config.warmup_epochs * self.steps_per_epoch)))
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    def _loader(self, epoch: int, *, train: bool = True) -> DataLoader:
        common = {"num_workers": self.config.loader_workers, "pin_memory": self.cuda,
                  "persistent_workers": False}
        if not train:
            return DataLoader(self.val_ds, batch_size=self.per_rank_batch * 2, shuffle=False, **common)
        generator = torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
        drop_last = len(self.train_ds) > self.per_rank_batch * self.ctx.world_size
        if self.ctx.enabled:
            from torch.utils.data.distributed import DistributedSampler

            sampler = DistributedSampler(self.train_ds, num_replicas=self.ctx.world_size, rank=self.ctx.rank,
                                         shuffle=True, seed=self.seed, drop_last=drop_last)
            sampler.set_epoch(epoch)
            return DataLoader(self.train_ds, batch_size=self.per_rank_batch, sampler=sampler,
                              drop_last=drop_last, **common)
        return DataLoader(self.train_ds, batch_size=self.per_rank_batch, shuffle=True, generator=generator,
                          drop_last=drop_last, **common)

    # -- checkpoints -------------------------------------------------------------------------
    def _state(self, epoch: int, best: dict[str, Any], history: list[dict[str, float]]) -> dict[str, Any]:
        return {"epoch": epoch, "seed": self.seed, "model": self.model.state_dict(),
                "ema": self.ema.state_dict() if self.ema is not None else None,
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(), "best": dict(best), "history": list(history)}

    def _save(self, name: str, state: dict[str, Any]) -> None:
        if self.checkpoint_dir is not None and self.ctx.is_main:
            save_state(self.checkpoint_dir / name, state)

    def _resume(self) -> tuple[int, dict[str, Any], list[dict[str, float]]]:
        path = self.checkpoint_dir / "last.pt" if self.checkpoint_dir else None
        if path is None or not path.is_file():
            return 0, {"val_loss": math.inf, "epoch": 0, "bad_epochs": 0, "stopped": False}, []
        state = load_state(path)
        if state.get("seed") != self.seed:
            raise ValueError(f"{path}: the checkpoint is from seed {state.get('seed')}, not {self.seed}")
        try:
            self.model.load_state_dict(state["model"])
            if self.ema is not None and state.get("ema") is not None:
                self.ema.load_state_dict(state["ema"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise ValueError(f"{path}: cannot resume from this checkpoint; it was made with another "
                             f"model or settings ({str(exc).splitlines()[0]}). Remove it or drop --resume.") from exc
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        return int(state["epoch"]), dict(state["best"]), list(state["history"])

    # -- training ----------------------------------------------------------------------------
    def fit(self, *, resume: bool = False) -> FitResult:
        start, best, history = self._resume() if resume else (
            0, {"val_loss": math.inf, "epoch": 0, "bad_epochs": 0, "stopped": False}, [])
        writer = self._writer()
        try:
            last_epoch = self.config.refit_epochs or self.config.epochs
            for epoch in range(start + 1, min(last_epoch, self.config.epochs) + 1):
                if best.get("stopped"):
                    break
                record = self._run_epoch(epoch)
                history.append(record)
                # without a validation set (a refit) or without early stopping the latest epoch is
                # the one kept (a loss flat to 1e-6, e.g. BatchNorm statistics drifting under a zero
                # learning rate, is no improvement)
                improved = (record["val_loss"] < best["val_loss"] - 1e-6 or len(self.val_ds) == 0
                            or self.config.patience is None)
                if improved:
                    best.update(val_loss=record["val_loss"], epoch=epoch, bad_epochs=0)
                    self._save("best.pt", {"epoch": epoch, "seed": self.seed,
                                           "model": self.eval_model.state_dict(), "val_loss": record["val_loss"]})
                else:
                    best["bad_epochs"] += 1
                stop = broadcast_flag(self.ctx, self._should_stop(epoch, best["bad_epochs"]), self.device)
                best["stopped"] = stop
                self._save("last.pt", self._state(epoch, best, history))
                self._log(writer, record)
                self.on_epoch(record)
        finally:
            if writer is not None:
                writer.close()
        return FitResult(best_epoch=int(best["epoch"]), best_val_loss=float(best["val_loss"]), history=history,
                         stopped_early=bool(best.get("stopped")) and len(history) < self.config.epochs)

    @property
    def eval_model(self) -> nn.Module:
        """The weights that are validated, checkpointed as best and exported: the average, if any."""
        return self.ema.module if self.ema is not None else self.model

    def _should_stop(self, epoch: int, bad_epochs: int) -> bool:
        if self.config.refit_epochs or self.config.patience is None:
            return False
        min_epochs = self.config.epochs // 2 if self.config.min_epochs is None else self.config.min_epochs
        return bad_epochs >= self.config.patience and epoch >= min_epochs

    def _run_epoch(self, epoch: int) -> dict[str, float]:
        torch.manual_seed(epoch_seed(self.seed, epoch) + self.ctx.rank)  # dropout and friends
        generator = torch.Generator().manual_seed(epoch_seed(self.seed, epoch) + 7919 * (self.ctx.rank + 1))
        self.net.train()
        total, count = 0.0, 0
        for step, (x, y, _) in enumerate(self._loader(epoch), start=1):
            if self.cancel is not None:
                self.cancel.raise_if_cancelled()
            loss = self._train_step(x, y, generator)
            total, count = total + loss * len(y), count + len(y)
            self.on_step(epoch, step, self.steps_per_epoch, loss)
        train_loss = all_reduce_mean(self.ctx, total / max(1, count), self.device)
        val_loss, val_acc = self.validate()
        return {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_acc": val_acc,
                "lr": float(self.optimizer.param_groups[0]["lr"])}

    def _train_step(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> float:
        if self.config.time_shift:
            x = time_shift(x, self.config.time_shift, generator)
        if self.config.freq_warp or self.config.time_warp:
            x = spec_warp(x, generator, freq=self.config.freq_warp, time=self.config.time_warp)
        if self.config.spec_augment:
            freq_masks, time_masks = self.config.spec_masks
            share = self.config.time_mask_share
            x = spec_augment(x, generator, freq_masks=freq_masks, time_masks=time_masks,
                             time_width=max(1, round(share * x.shape[-1])) if share else 16)
        targets = F.one_hot(y, self.num_classes).float()
        if self.config.label_smoothing:
            targets = targets * (1 - self.config.label_smoothing) + self.config.label_smoothing / self.num_classes
        x, targets = mixup(x, targets, self.config.mixup_alpha, generator)
        x, targets = self._to_device(x), targets.to(self.device, non_blocking=True)
        with torch.autocast(device_type=self.device.type, dtype=self.amp_dtype or torch.float32,
                            enabled=self.amp_dtype is not None):
            loss = F.cross_entropy(self.net(x), targets)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        return float(loss.detach())

    def _to_device(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.accelerated else x

    @torch.no_grad()
    def predict(self, dataset: Dataset | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Softmax probabilities and true labels over ``dataset`` (default: validation), in order."""
        model = self.eval_model
        model.eval()
        loader = self._loader(0, train=False) if dataset is None else DataLoader(
            dataset, batch_size=self.per_rank_batch * 2, shuffle=False, pin_memory=self.cuda)
        probs, labels = [], []
        for x, y, _ in loader:
            if self.cancel is not None:
                self.cancel.raise_if_cancelled()
            with torch.autocast(device_type=self.device.type, dtype=self.amp_dtype or torch.float32,
                                enabled=self.amp_dtype is not None and self.cuda):
                logits = model(self._to_device(x))
            probs.append(torch.softmax(logits.float(), dim=-1).cpu().numpy())
            labels.append(y.numpy())
        if not probs:
            return np.zeros((0, self.num_classes), dtype=np.float32), np.zeros(0, dtype=np.int64)
        return np.concatenate(probs), np.concatenate(labels)

    def validate(self) -> tuple[float, float]:
        """Plain cross-entropy and accuracy on the whole validation set (every rank sees all of it)."""
        probs, labels = self.predict()
        if len(labels) == 0:
            return math.nan, math.nan
        picked = probs[np.arange(len(labels)), labels]
        loss = float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))
        return loss, float(np.mean(probs.argmax(1) == labels))

    def load_best(self) -> int:
        """Load ``best.pt`` into the model (all ranks); returns its epoch (0 when there is none)."""
        path = self.checkpoint_dir / "best.pt" if self.checkpoint_dir else None
        if path is None or not path.is_file():
            return 0
        state = load_state(path)
        self.model.load_state_dict(state["model"])
        self.ema = None   # the averaged weights are the model's now
        return int(state["epoch"])

    def _writer(self):
        if self.tb_dir is None or not self.ctx.is_main:
            return None
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(log_dir=str(self.tb_dir))

    def _log(self, writer, record: dict[str, float]) -> None:
        if writer is None:
            return
        for key in ("train_loss", "val_loss", "val_acc", "lr"):
            writer.add_scalar(key.replace("_", "/", 1) if "_" in key else key, record[key], record["epoch"])
        writer.flush()


def _ema_step(decay: float):
    """The moving average's update with a warm-up (as timm's): early on the average follows the
    weights closely, so a short run (a few dozen steps) is not dragged back to its initialisation."""
    def update(averaged: torch.Tensor, current: torch.Tensor, num_averaged: torch.Tensor) -> torch.Tensor:
        n = float(num_averaged)
        d = min(decay, (1.0 + n) / (10.0 + n))
        return averaged * d + current * (1.0 - d)
    return update


def time_shift(x: torch.Tensor, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """Roll each example's log-mel frames by up to ``fraction`` of its length, either way: the
    sound moves within its window (padding wraps round), as a live window would see it."""
    frames = x.shape[-1]
    most = int(fraction * frames)
    if most < 1:
        return x
    shifts = torch.randint(-most, most + 1, (x.shape[0],), generator=generator)
    return torch.stack([torch.roll(row, int(k), dims=-1) for row, k in zip(x, shifts, strict=True)])


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX tiles); without, CPU
    autocast emulates it and is slower than float32. ``EARMARK_CPU_BF16=0`` turns it off."""
    if os.environ.get("EARMARK_CPU_BF16", "").strip() in ("0", "false", "no"):
        return False
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):   # private helpers: absent from other torch builds
        return False


def _amp_dtype(device: torch.device) -> torch.dtype:
    if device.type != "cuda":
        return torch.bfloat16  # CPU autocast supports bfloat16 only
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _infer_classes(model: nn.Module, dataset: Dataset, device: torch.device) -> int:
    x, _, _ = dataset[0]
    with torch.no_grad():
        model.eval()
        return int(model(x.unsqueeze(0).to(device)).shape[-1])
