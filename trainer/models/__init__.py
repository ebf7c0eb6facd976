"""Backbones by name: ``create_model``, ``list_models``, ``register_model`` (one file per family)."""

from trainer.models import alexnet, cnn, efficientnet, mobilenet, plain, resnet, vgg  # noqa: F401  (registers)
from trainer.models.attention import create_attn
from trainer.models.pretrained import PretrainedWeightsError
from trainer.models.registry import (
    ModelInfo,
    create_model,
    find_pretrained_weights,
    list_models,
    model_info,
    register_model,
)

__all__ = ["ModelInfo", "PretrainedWeightsError", "create_attn", "create_model", "find_pretrained_weights",
           "list_models", "model_info", "register_model"]
