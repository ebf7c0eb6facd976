"""``plain_cnn``: the backbone of the issue-23 baseline (a plain 100-line CNN script) as a recipe
model. Four blocks of two 3x3 conv-BN-ReLU and a 2x2 max pool, widths 32 -> 256, global average
pooling over frequency and time, a linear head, no dropout.

Why it is here: inside the recipe (its frontend, normalisation, schedule, augmentation) it reached
the baseline on the short spoken words where ``vgg4`` lost to it, and beat ``vgg4`` on all five
sets of the recipe suite with seed 42; with seed 7 it did not (equal on the words, worse on three
sets, better on ESC-50), so it is a choice (``--model plain_cnn``), not the default
(docs/RECIPE_SUITE.md). It costs about 1.5x ``vgg4``'s training time per step.
"""

from __future__ import annotations

import torch
from torch import nn

from trainer.models.pretrained import PretrainedWeightsError
from trainer.models.registry import register_model


class PlainCNN(nn.Module):
    def __init__(self, num_classes: int, in_chans: int = 1, widths: tuple[int, ...] = (32, 64, 128, 256)) -> None:
        super().__init__()
        layers, c_in = [], in_chans
        for c in widths:
            for i in range(2):
                layers += [nn.Conv2d(c_in if i == 0 else c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c),
                           nn.ReLU(inplace=True)]
            layers.append(nn.MaxPool2d(2))
            c_in = c
        self.features = nn.Sequential(*layers)
        self.num_features = c_in
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean(dim=(2, 3)))


@register_model(default_in_chans=1, min_input_size=16)
def plain_cnn(*, num_classes: int, in_chans: int, pretrained: bool, weights_path=None, **kw) -> PlainCNN:
    if pretrained:
        raise PretrainedWeightsError("Model 'plain_cnn' has no pretrained weights; use pretrained=False.")
    return PlainCNN(num_classes, in_chans, **kw)
