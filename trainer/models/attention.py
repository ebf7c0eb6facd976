"""Channel and spatial attention blocks, chosen by name through ``create_attn`` (as timm does).

``SE``: squeeze-and-excitation (Hu et al. 2018). ``CBAM``: channel then spatial attention
(Woo et al. 2018). Both keep the input shape and export to ONNX opset 17.
"""

from __future__ import annotations

import torch
from torch import nn


def _reduced(channels: int, rd_ratio: float, min_channels: int = 8) -> int:
    return max(min_channels, int(round(channels * rd_ratio)))


class SE(nn.Module):
    """Squeeze-and-excitation: global average -> bottleneck MLP -> sigmoid gate per channel."""

    def __init__(self, channels: int, rd_ratio: float = 1 / 16) -> None:
        super().__init__()
        hidden = _reduced(channels, rd_ratio)
        self.fc1 = nn.Conv2d(channels, hidden, kernel_size=1)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.fc2(self.act(self.fc1(x.mean(dim=(2, 3), keepdim=True))))
        return x * torch.sigmoid(gate)


class ChannelAttn(nn.Module):
    """CBAM's channel branch: a shared MLP over average- and max-pooled features."""

    def __init__(self, channels: int, rd_ratio: float = 1 / 16) -> None:
        super().__init__()
        hidden = _reduced(channels, rd_ratio)
        self.fc1 = nn.Conv2d(channels, hidden, kernel_size=1, bias=False)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, kernel_size=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.fc2(self.act(self.fc1(x.mean(dim=(2, 3), keepdim=True))))
        peak = self.fc2(self.act(self.fc1(x.amax(dim=(2, 3), keepdim=True))))
        return x * torch.sigmoid(avg + peak)


class SpatialAttn(nn.Module):
    """CBAM's spatial branch: a 7x7 conv over the channel mean and max maps."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.bn(self.conv(maps)))


class CBAM(nn.Module):
    """Convolutional block attention module: channel attention, then spatial attention."""

    def __init__(self, channels: int, rd_ratio: float = 1 / 16, spatial_kernel_size: int = 7) -> None:
        super().__init__()
        self.channel = ChannelAttn(channels, rd_ratio)
        self.spatial = SpatialAttn(spatial_kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(x))


ATTENTION_LAYERS: dict[str, type[nn.Module]] = {"se": SE, "cbam": CBAM}


def create_attn(attn: str | None, channels: int, **kwargs) -> nn.Module:
    """The attention module named ``attn`` for ``channels`` channels; ``None`` gives ``nn.Identity``."""
    if attn is None:
        return nn.Identity()
    try:
        layer = ATTENTION_LAYERS[attn.lower()]
    except KeyError:
        valid = ", ".join(sorted(ATTENTION_LAYERS))
        raise ValueError(f"Unknown attention {attn!r}; valid: {valid} or None") from None
    return layer(channels, **kwargs)
