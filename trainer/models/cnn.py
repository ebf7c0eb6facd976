"""A small baseline CNN for log-mels: conv-bn-relu-pool blocks, global pooling, a linear head.

Trained from scratch (no ImageNet weights), one input channel, fast on a CPU.
"""

from __future__ import annotations

import torch
from torch import nn

from trainer.models.pretrained import PretrainedWeightsError
from trainer.models.registry import register_model


class ConvBlock(nn.Sequential):
    """3x3 conv, batch norm, ReLU, 2x2 max pool: halves the spatial size."""

    def __init__(self, in_chans: int, out_chans: int) -> None:
        super().__init__(
            nn.Conv2d(in_chans, out_chans, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_chans),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2),
        )


class SmallCNN(nn.Module):
    def __init__(self, num_classes: int, in_chans: int = 1, widths: tuple[int, ...] = (16, 32, 64, 128),
                 drop_rate: float = 0.2) -> None:
        super().__init__()
        chans = (in_chans, *widths)
        self.features = nn.Sequential(*(ConvBlock(a, b) for a, b in zip(chans[:-1], chans[1:], strict=True)))
        self.num_features = widths[-1]
        self.drop = nn.Dropout(drop_rate)
        self.fc = nn.Linear(self.num_features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(x.mean(dim=(2, 3))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


@register_model(default_in_chans=1, min_input_size=16)
def cnn(*, num_classes: int, in_chans: int, pretrained: bool, weights_path=None, **kw) -> SmallCNN:
    if pretrained:
        raise PretrainedWeightsError("Model 'cnn' has no pretrained weights; use pretrained=False.")
    return SmallCNN(num_classes, in_chans, **kw)
