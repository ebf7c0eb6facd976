"""The model registry: ``@register_model`` on a builder, ``create_model(name, ...)``, ``list_models()``.

A builder is called as ``fn(num_classes=..., in_chans=..., pretrained=..., weights_path=..., **kw)``
and returns an ``nn.Module`` mapping ``[b, in_chans, H, W]`` to logits ``[b, num_classes]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn


@dataclass(frozen=True)
class ModelInfo:
    name: str
    builder: Callable[..., nn.Module]
    default_in_chans: int       # 1 for models trained from scratch on log-mels, 3 for ImageNet backbones
    min_input_size: int         # the smallest input side (pixels) that builds, trains and exports
    has_pretrained: bool        # whether ImageNet weights exist for it (torchvision)
    weights: Any = None         # the torchvision weights enum whose files the cache may hold


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(fn: Callable[..., nn.Module] | None = None, *, name: str | None = None,
                   default_in_chans: int = 3, min_input_size: int = 32, weights: Any = None):
    """Register a builder under its function name (or ``name``); usable bare or with arguments."""

    def _register(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name or builder.__name__
        if key in _REGISTRY:
            raise ValueError(f"Model {key!r} is registered twice")
        _REGISTRY[key] = ModelInfo(key, builder, default_in_chans, min_input_size, weights is not None, weights)
        return builder

    return _register(fn) if fn is not None else _register


def list_models() -> list[str]:
    """The registered model names, sorted."""
    return sorted(_REGISTRY)


def model_info(name: str) -> ModelInfo:
    """The registry entry for ``name``; ``ValueError`` listing the valid names when unknown."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"Unknown model {name!r}; valid models: {', '.join(list_models())}") from None


def create_model(name: str, *, num_classes: int, in_chans: int | None = None, pretrained: bool = False,
                 weights_path: str | Path | None = None, **kwargs) -> nn.Module:
    """Build model ``name`` with a ``num_classes`` head and ``in_chans`` input channels.

    ``in_chans=None`` takes the model's ``default_in_chans``. ``pretrained=True`` loads ImageNet
    weights from ``weights_path`` or torchvision's cache (``torch.hub.get_dir()/checkpoints``) and
    raises ``PretrainedWeightsError`` naming where it looked when there are none; a
    ``weights_path`` implies ``pretrained``. Nothing is ever downloaded.
    """
    info = model_info(name)
    in_chans = info.default_in_chans if in_chans is None else int(in_chans)
    if int(num_classes) < 1:
        raise ValueError(f"Model {name!r} needs num_classes >= 1; got {num_classes}")
    if in_chans < 1:
        raise ValueError(f"Model {name!r} needs in_chans >= 1; got {in_chans}")
    pretrained = bool(pretrained) or weights_path is not None
    model = info.builder(num_classes=int(num_classes), in_chans=in_chans, pretrained=pretrained,
                         weights_path=weights_path, **kwargs)
    model.in_chans = in_chans
    model.num_classes = int(num_classes)
    return model


def find_pretrained_weights(name: str, weights_path: str | Path | None = None) -> Path:
    """The weights file ``create_model(name, pretrained=True)`` would load, without building the model.

    Raises ``PretrainedWeightsError`` naming where it looked (or saying the model has none).
    """
    from trainer.models.pretrained import PretrainedWeightsError, find_weights

    info = model_info(name)
    if info.weights is None:
        raise PretrainedWeightsError(f"Model {name!r} has no pretrained weights; use pretrained=False.")
    return find_weights(name, info.weights, weights_path)
