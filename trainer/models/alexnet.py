"""AlexNet (torchvision) with a new head, an adapted stem and an exportable adaptive pool."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import AlexNet_Weights
from torchvision.models import alexnet as tv_alexnet

from trainer.models.pretrained import adapt_input_conv, load_pretrained, new_head
from trainer.models.registry import register_model


def _pool_matrix(n_in: int, n_out: int, like: torch.Tensor) -> torch.Tensor:
    """``[n_out, n_in]`` averaging weights over PyTorch's adaptive-pool windows."""
    matrix = torch.zeros(n_out, n_in, dtype=like.dtype, device=like.device)
    for i in range(n_out):
        start, end = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


class AdaptiveAvgPool2d(nn.Module):
    """``nn.AdaptiveAvgPool2d`` that also exports when the input size is no multiple of the output.

    The ONNX exporter only handles divisible sizes; otherwise the same windows are applied as two
    constant averaging matrices (``P_h @ x @ P_w^T``), which gives identical results.
    """

    def __init__(self, output_size: tuple[int, int]) -> None:
        super().__init__()
        self.output_size = tuple(output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = int(x.shape[-2]), int(x.shape[-1])
        out_h, out_w = self.output_size
        if height % out_h == 0 and width % out_w == 0:
            # plain avg_pool2d: adaptive_avg_pool2d failed to export at 224x224 with a dynamic batch
            return F.avg_pool2d(x, kernel_size=(height // out_h, width // out_w))
        rows = _pool_matrix(height, out_h, x)
        cols = _pool_matrix(width, out_w, x)
        return torch.matmul(torch.matmul(rows, x), cols.t())


@register_model(min_input_size=64, weights=AlexNet_Weights)
def alexnet(*, num_classes: int, in_chans: int, pretrained: bool, weights_path=None,
            drop_rate: float = 0.5) -> nn.Module:
    model = tv_alexnet(weights=None, dropout=drop_rate)
    if pretrained:
        load_pretrained(model, "alexnet", AlexNet_Weights, weights_path)
    model.avgpool = AdaptiveAvgPool2d((6, 6))
    model.classifier[-1] = new_head(model.classifier[-1], num_classes)
    model.features[0] = adapt_input_conv(model.features[0], in_chans, pretrained=pretrained)
    return model
