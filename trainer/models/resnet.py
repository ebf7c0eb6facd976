"""ResNet-18/50 on torchvision's ResNet, with optional attention inside every residual block.

``attn="se"|"cbam"|None`` is resolved by ``create_attn``; the attention module sits after the
block's last batch norm, before the shortcut is added (as in SE-ResNet and CBAM). ImageNet
weights load into the plain layers; the attention layers start fresh.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import ResNet18_Weights, ResNet50_Weights
from torchvision.models import resnet as tv_resnet

from trainer.models.attention import create_attn
from trainer.models.pretrained import adapt_input_conv, load_pretrained, new_head
from trainer.models.registry import register_model


class BasicBlock(tv_resnet.BasicBlock):
    attn_layer: str | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.attn = create_attn(self.attn_layer, self.bn2.num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.attn(self.bn2(self.conv2(out)))
        return self.relu(out + shortcut)


class Bottleneck(tv_resnet.Bottleneck):
    attn_layer: str | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.attn = create_attn(self.attn_layer, self.bn3.num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.attn(self.bn3(self.conv3(out)))
        return self.relu(out + shortcut)


def _with_attn(block: type, attn: str | None) -> type:
    """``block`` whose instances build the ``attn`` layer (torchvision instantiates the class itself)."""
    create_attn(attn, 16)  # fail early on an unknown name
    return type(f"{block.__name__}_{attn}", (block,), {"attn_layer": attn})


class ResNet(tv_resnet.ResNet):
    """torchvision's ResNet with attention-capable blocks and timm-style forward methods."""

    def __init__(self, block: type, layers: list[int], *, attn: str | None = None,
                 drop_rate: float = 0.0) -> None:
        super().__init__(_with_attn(block, attn), layers, num_classes=1000)
        self.attn = attn
        self.drop = nn.Dropout(drop_rate)

    def reset_classifier(self, num_classes: int) -> None:
        self.fc = new_head(self.fc, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(torch.flatten(self.avgpool(x), 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


_CONFIGS = {
    "resnet18": (BasicBlock, [2, 2, 2, 2], ResNet18_Weights),
    "resnet50": (Bottleneck, [3, 4, 6, 3], ResNet50_Weights),
}


def _resnet(name: str, depth: str, attn: str | None, *, num_classes: int, in_chans: int,
            pretrained: bool, weights_path=None, drop_rate: float = 0.0) -> ResNet:
    block, layers, weights_enum = _CONFIGS[depth]
    model = ResNet(block, layers, attn=attn, drop_rate=drop_rate)
    if pretrained:
        load_pretrained(model, name, weights_enum, weights_path, allowed_missing=(".attn.",))
    model.reset_classifier(num_classes)
    model.conv1 = adapt_input_conv(model.conv1, in_chans, pretrained=pretrained)
    return model


@register_model(weights=ResNet18_Weights)
def resnet18(**kw) -> ResNet:
    return _resnet("resnet18", "resnet18", kw.pop("attn", None), **kw)


@register_model(weights=ResNet18_Weights)
def resnet18_se(**kw) -> ResNet:
    return _resnet("resnet18_se", "resnet18", "se", **kw)


@register_model(weights=ResNet18_Weights)
def resnet18_cbam(**kw) -> ResNet:
    return _resnet("resnet18_cbam", "resnet18", "cbam", **kw)


@register_model(weights=ResNet50_Weights)
def resnet50(**kw) -> ResNet:
    return _resnet("resnet50", "resnet50", kw.pop("attn", None), **kw)


@register_model(weights=ResNet50_Weights)
def resnet50_se(**kw) -> ResNet:
    return _resnet("resnet50_se", "resnet50", "se", **kw)


@register_model(weights=ResNet50_Weights)
def resnet50_cbam(**kw) -> ResNet:
    return _resnet("resnet50_cbam", "resnet50", "cbam", **kw)
