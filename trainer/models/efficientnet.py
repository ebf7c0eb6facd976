"""EfficientNet-B0 (torchvision) with a new head and an adapted stem."""

from __future__ import annotations

from torch import nn
from torchvision.models import EfficientNet_B0_Weights
from torchvision.models import efficientnet_b0 as tv_efficientnet_b0

from trainer.models.pretrained import adapt_input_conv, load_pretrained, new_head
from trainer.models.registry import register_model


@register_model(min_input_size=32, weights=EfficientNet_B0_Weights)
def efficientnet_b0(*, num_classes: int, in_chans: int, pretrained: bool, weights_path=None,
                    drop_rate: float = 0.2) -> nn.Module:
    model = tv_efficientnet_b0(weights=None, dropout=drop_rate)
    if pretrained:
        load_pretrained(model, "efficientnet_b0", EfficientNet_B0_Weights, weights_path)
    model.classifier[-1] = new_head(model.classifier[-1], num_classes)
    model.features[0][0] = adapt_input_conv(model.features[0][0], in_chans, pretrained=pretrained)
    return model
