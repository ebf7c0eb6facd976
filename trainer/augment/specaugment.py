"""On-the-fly torch augmentations of batches: SpecAugment masks and mixup.

Both take an explicit ``torch.Generator`` so a training run is reproducible.
"""

from __future__ import annotations

import numpy as np
import torch


def spec_augment(logmel: torch.Tensor, generator: torch.Generator | None = None, *,
                 freq_masks: int = 2, freq_width: int = 8, time_masks: int = 2,
                 time_width: int = 16) -> torch.Tensor:
    """Mask random frequency bands and time spans of ``logmel`` [b, (c,) n_mels, frames].

    Masked cells take each example's mean value (not zero: log-mels are in dB).
    Returns a new tensor; the input is untouched.
    """
    if logmel.dim() not in (3, 4):
        raise ValueError(f"spec_augment takes [b, n_mels, frames] or [b, c, n_mels, frames], got {tuple(logmel.shape)}")
    if min(freq_masks, freq_width, time_masks, time_width) < 0:
        raise ValueError("spec_augment mask counts and widths must be >= 0")
    x = logmel.clone()
    view = x if x.dim() == 4 else x.unsqueeze(1)
    batch, _, n_mels, n_frames = view.shape
    fill = view.mean(dim=(1, 2, 3), keepdim=True)
    mask = torch.zeros(batch, 1, n_mels, n_frames, dtype=torch.bool, device=x.device)
    for axis, count, width, size in ((2, freq_masks, freq_width, n_mels), (3, time_masks, time_width, n_frames)):
        for _ in range(count):
            widths = _randint(0, min(width, size) + 1, batch, generator)
            starts = (_rand(batch, generator) * (size - widths + 1).float()).long()
            positions = torch.arange(size).unsqueeze(0)  # [1, size]
            band = (positions >= starts.unsqueeze(1)) & (positions < (starts + widths).unsqueeze(1))
            band = band.to(x.device)
            mask |= band[:, None, :, None] if axis == 2 else band[:, None, None, :]
    view.copy_(torch.where(mask, fill.to(view.dtype), view))
    return x


def mixup(x: torch.Tensor, y_onehot: torch.Tensor, alpha: float = 0.2,
          generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Blend each example with a shuffled partner: ``lam*x + (1-lam)*x[perm]`` (labels alike).

    ``lam`` ~ Beta(alpha, alpha), one per batch, drawn through ``generator``.
    ``alpha <= 0`` returns the inputs unchanged.
    """
    if x.shape[0] != y_onehot.shape[0]:
        raise ValueError(f"mixup: {x.shape[0]} inputs but {y_onehot.shape[0]} labels")
    if alpha <= 0 or x.shape[0] < 2:
        return x, y_onehot
    lam = _beta(alpha, generator)
    perm = torch.randperm(x.shape[0], generator=generator).to(x.device)
    mixed_x = lam * x + (1.0 - lam) * x[perm]
    mixed_y = lam * y_onehot + (1.0 - lam) * y_onehot[perm]
    return mixed_x, mixed_y


def _rand(n: int, generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, generator=generator)


def _randint(low: int, high: int, n: int, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randint(low, high, (n,), generator=generator)


def _beta(alpha: float, generator: torch.Generator | None) -> float:
    """One Beta(alpha, alpha) draw, seeded from ``generator`` (torch has no seeded Beta sampler)."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return float(np.random.default_rng(seed).beta(alpha, alpha))
