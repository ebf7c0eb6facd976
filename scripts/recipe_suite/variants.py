"""Backbone variants for the recipe suite's experiments (issue 23), registered by name.

Why: to find out which of the recipe's backbone choices costs it against the plain baseline
(pooling, width, average vs max pooling inside the blocks) without editing ``trainer/models``
while it moves. ``run.py --import scripts.recipe_suite.variants --set model=NAME`` trains one;
the exported ONNX needs nothing from here, so ``main.py classify`` runs it as any model.

- ``vgg4_w32``: the recipe's ``vgg4`` at the baseline's widths (32 -> 256);
- ``vgg4_gap``: ``vgg4`` with global average pooling (mean over frequency and time) instead of
  mean over frequency then mean + max over time;
- ``vgg4_maxpool``: ``vgg4`` with max pooling inside the blocks;
(``plain_cnn``, the baseline's backbone inside the recipe, began here and is now a product
model: trainer/models/plain.py.)
"""

from __future__ import annotations

import torch
from torch import nn

from trainer.models.registry import register_model
from trainer.models.vgg import VGG4


class VGG4GAP(VGG4):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(self.features(x).mean(dim=(2, 3))))


@register_model(default_in_chans=1, min_input_size=16)
def vgg4_w32(*, num_classes: int, in_chans: int, pretrained: bool, weights_path=None, **kw) -> VGG4:
    return VGG4(num_classes, in_chans, width=32)


@register_model(default_in_chans=1, min_input_size=16)
def vgg4_gap(*, num_classes: int, in_chans: int, pretrained: bool, weights_path=None, **kw) -> VGG4:
    return VGG4GAP(num_classes, in_chans)


@register_model(default_in_chans=1, min_input_size=16)
def vgg4_maxpool(*, num_classes: int, in_chans: int, pretrained: bool, weights_path=None, **kw) -> VGG4:
    """``vgg4`` (24 -> 192, dropout, its pooling head) with 2x2 max pooling in the blocks instead of average."""
    model = VGG4(num_classes, in_chans)
    for block in model.features:
        block[-1] = nn.MaxPool2d(2)
    return model
