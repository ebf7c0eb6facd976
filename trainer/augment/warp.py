"""On-the-fly warps of log-mel batches: frequency (vocal tract length) and tempo.

``spec_warp`` rescales each example's mel axis about its lowest band by a random factor in
[1 - freq, 1 + freq] (vocal tract length perturbation, VTLP: the same words from a longer or
shorter vocal tract, so a model hears more than the training speakers' voices) and its time
axis about the window's centre by a factor in [1 - time, 1 + time] (faster or slower speech).
Both are one bilinear ``grid_sample`` per batch: cheap enough to run on every step, where
the cached waveform variants (pitch shift, time stretch) cost a decode per clip and variant.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def spec_warp(logmel: torch.Tensor, generator: torch.Generator | None = None, *,
              freq: float = 0.1, time: float = 0.1) -> torch.Tensor:
    """Warp ``logmel`` [b, c, n_mels, frames] (band 0 the lowest); returns a new tensor.

    A factor above 1 moves content up in frequency (or makes it longer in time). Cells that
    map outside the input repeat its edge (the top band, the first or last frame).
    """
    if logmel.dim() != 4:
        raise ValueError(f"spec_warp takes [b, c, n_mels, frames], got {tuple(logmel.shape)}")
    if not (0.0 <= freq < 1.0 and 0.0 <= time < 1.0):
        raise ValueError(f"spec_warp needs freq and time in [0, 1), got {freq}, {time}")
    if freq == 0.0 and time == 0.0:
        return logmel
    batch = logmel.shape[0]
    alpha = 1.0 + freq * (2.0 * torch.rand(batch, generator=generator) - 1.0)   # frequency factor
    beta = 1.0 + time * (2.0 * torch.rand(batch, generator=generator) - 1.0)    # time factor
    theta = torch.zeros(batch, 2, 3)
    theta[:, 0, 0] = 1.0 / beta              # x: frames, about the centre
    theta[:, 1, 1] = 1.0 / alpha             # y: bands, about band 0 (y = -1)
    theta[:, 1, 2] = 1.0 / alpha - 1.0
    theta = theta.to(device=logmel.device, dtype=logmel.dtype)
    grid = F.affine_grid(theta, list(logmel.shape), align_corners=True)
    return F.grid_sample(logmel, grid, mode="bilinear", padding_mode="border", align_corners=True)
