"""MobileNetV3 small and large (torchvision) with a new head and an adapted stem."""

from __future__ import annotations

from torch import nn
from torchvision.models import MobileNet_V3_Large_Weights, MobileNet_V3_Small_Weights
from torchvision.models import mobilenet_v3_large as tv_mobilenet_v3_large
from torchvision.models import mobilenet_v3_small as tv_mobilenet_v3_small

from trainer.models.pretrained import adapt_input_conv, load_pretrained, new_head
from trainer.models.registry import register_model


def _mobilenetv3(name: str, build, weights_enum, *, num_classes: int, in_chans: int, pretrained: bool,
                 weights_path, drop_rate: float) -> nn.Module:
    model = build(weights=None, dropout=drop_rate)
    if pretrained:
        load_pretrained(model, name, weights_enum, weights_path)
    model.classifier[-1] = new_head(model.classifier[-1], num_classes)
    model.features[0][0] = adapt_input_conv(model.features[0][0], in_chans, pretrained=pretrained)
    return model


@register_model(min_input_size=32, weights=MobileNet_V3_Small_Weights)
def mobilenetv3_small(*, num_classes: int, in_chans: int, pretrained: bool, weights_path=None,
                      drop_rate: float = 0.2) -> nn.Module:
    return _mobilenetv3("mobilenetv3_small", tv_mobilenet_v3_small, MobileNet_V3_Small_Weights,
                        num_classes=num_classes, in_chans=in_chans, pretrained=pretrained,
                        weights_path=weights_path, drop_rate=drop_rate)


@register_model(min_input_size=32, weights=MobileNet_V3_Large_Weights)
def mobilenetv3_large(*, num_classes: int, in_chans: int, pretrained: bool, weights_path=None,
                      drop_rate: float = 0.2) -> nn.Module:
    return _mobilenetv3("mobilenetv3_large", tv_mobilenet_v3_large, MobileNet_V3_Large_Weights,
                        num_classes=num_classes, in_chans=in_chans, pretrained=pretrained,
                        weights_path=weights_path, drop_rate=drop_rate)
