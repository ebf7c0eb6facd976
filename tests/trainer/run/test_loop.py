"""The training loop's schedule, early stopping, device choice and checkpoint format."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from trainer.run.loop import LoopConfig, Trainer, choose_device, load_state


class Blobs(Dataset):
    """Two classes of [1, 4, 6] 'log-mels' around different means."""

    def __init__(self, n: int, seed: int):
        g = torch.Generator().manual_seed(seed)
        self.y = torch.arange(n) % 2
        self.x = torch.randn(n, 1, 4, 6, generator=g) + self.y.view(-1, 1, 1, 1) * 2.0

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], int(self.y[i]), i


def make_trainer(tmp_path, **kw) -> Trainer:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(24, 2))
    model.num_classes = 2
    config = LoopConfig(**{"epochs": 10, "batch_size": 8, "spec_augment": False, "mixup_alpha": 0.0, **kw})
    return Trainer(model, Blobs(32, 0), Blobs(16, 1), config, seed=0, device=torch.device("cpu"),
                   checkpoint_dir=tmp_path / "ckpt")


def test_it_learns_and_saves_loadable_checkpoints(tmp_path):
    trainer = make_trainer(tmp_path, epochs=6, lr=0.05)
    fit = trainer.fit()
    assert fit.history[-1]["val_acc"] >= 0.75            # chance is 0.5
    assert fit.history[-1]["train_loss"] < fit.history[0]["train_loss"]
    state = load_state(tmp_path / "ckpt" / "last.pt")
    assert state["epoch"] == 6 and set(state) >= {"model", "optimizer", "scheduler", "scaler", "history"}
    assert load_state(tmp_path / "ckpt" / "best.pt")["epoch"] == fit.best_epoch


@pytest.mark.parametrize("min_epochs, stops_at", [(0, 3), (6, 6)])
def test_early_stopping_on_a_flat_validation_loss(tmp_path, min_epochs, stops_at):
    trainer = make_trainer(tmp_path, lr=0.0, patience=2, min_epochs=min_epochs)   # nothing improves
    fit = trainer.fit()
    assert len(fit.history) == stops_at and fit.stopped_early and fit.best_epoch == 1


def test_without_early_stopping_the_whole_schedule_runs_and_its_last_epoch_is_kept(tmp_path):
    # validation labels opposite to the training ones: the more it learns, the worse validation gets
    trainer = make_trainer(tmp_path, epochs=8, lr=0.05, patience=None, min_epochs=0)
    trainer.val_ds.y = 1 - trainer.val_ds.y
    fit = trainer.fit()
    losses = [r["val_loss"] for r in fit.history]
    assert min(losses) < losses[-1]                     # the last epoch is not the best on validation ...
    assert len(fit.history) == 8 and not fit.stopped_early
    assert fit.best_epoch == 8 and fit.best_val_loss == losses[-1]   # ... and is kept all the same
    assert load_state(tmp_path / "ckpt" / "best.pt")["epoch"] == 8


def test_warm_up_then_cosine_decay(tmp_path):
    trainer = make_trainer(tmp_path, epochs=4, warmup_epochs=1.0)
    steps = trainer.steps_per_epoch * 4
    factors = [trainer._lr_factor(s) for s in range(steps)]
    peak = factors.index(max(factors))
    assert factors[0] < factors[peak] == pytest.approx(1.0, abs=0.05)
    assert all(a <= b for a, b in zip(factors[:peak], factors[1 : peak + 1], strict=True))
    assert all(a >= b for a, b in zip(factors[peak:], factors[peak + 1 :], strict=False))
    assert factors[-1] < 0.2


def test_device_choice():
    assert choose_device("cpu").type == "cpu"
    assert choose_device("auto").type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            choose_device("cuda")


def test_resume_from_another_models_checkpoint_is_a_clear_error(tmp_path):
    make_trainer(tmp_path, epochs=1).fit()
    other = make_trainer(tmp_path, epochs=2)
    other.model = nn.Sequential(nn.Flatten(), nn.Linear(24, 8), nn.Linear(8, 2))
    with pytest.raises(ValueError, match="cannot resume"):
        other.fit(resume=True)


def test_the_gpu_recipe_runs_on_the_cpu(tmp_path):
    """Mixed precision and channels-last: the branches a CUDA run takes, here with bfloat16."""
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 4, 3, padding=1)
    model = nn.Sequential(conv, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    model.num_classes = 2
    seen = []
    conv.register_forward_hook(lambda m, i, o: seen.append((o.dtype, i[0].is_contiguous(
        memory_format=torch.channels_last), torch.is_grad_enabled())))
    config = LoopConfig(epochs=3, batch_size=8, spec_augment=False, mixup_alpha=0.0, lr=0.05, accelerated=True)
    trainer = Trainer(model, Blobs(32, 0), Blobs(16, 1), config, seed=0, device=torch.device("cpu"),
                      checkpoint_dir=tmp_path / "ckpt")
    assert trainer.amp_dtype == torch.bfloat16
    before = conv.weight.detach().clone()
    fit = trainer.fit()
    trained = [dtype for dtype, _, grad in seen if grad]
    evaluated = [dtype for dtype, _, grad in seen if not grad]
    assert trained and all(dtype == torch.bfloat16 for dtype in trained)   # autocast was on while training
    # evaluation on a CPU stays float32: the figures are those of the float32 model that is exported
    assert evaluated and all(dtype == torch.float32 for dtype in evaluated)
    assert all(channels_last for _, channels_last, _ in seen[:3])        # training batches went in channels-last
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not torch.equal(before, conv.weight.detach()) and fit.history[-1]["train_loss"] == fit.history[-1]["train_loss"]


def test_mixed_precision_on_the_cpu_by_default_only_where_it_is_native(tmp_path, monkeypatch):
    from trainer.run.loop import cpu_has_fast_bf16

    trainer = make_trainer(tmp_path)
    assert trainer.accelerated == cpu_has_fast_bf16()
    assert trainer.amp_dtype == (torch.bfloat16 if cpu_has_fast_bf16() else None)
    monkeypatch.setenv("EARMARK_CPU_BF16", "0")
    trainer = make_trainer(tmp_path)
    assert trainer.amp_dtype is None and not trainer.accelerated
