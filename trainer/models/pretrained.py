"""Helpers shared by the torchvision-based families: local ImageNet weights, input conv, head.

Weights are never downloaded. They come from ``weights_path`` or torchvision's own cache,
``torch.hub.get_dir()/checkpoints/<file name in the weights URL>`` (where
``torchvision.models.<name>(weights="DEFAULT")`` leaves them on a machine with internet).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from engine.errors import EarmarkError


class PretrainedWeightsError(EarmarkError, FileNotFoundError):
    """ImageNet weights are missing, unreadable or do not fit the model."""


def cache_candidates(weights_enum) -> list[Path]:
    """Where torchvision caches the files of ``weights_enum``, its DEFAULT first."""
    checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
    members = [weights_enum.DEFAULT] + [w for w in weights_enum if w is not weights_enum.DEFAULT]
    return [checkpoints / w.url.rsplit("/", 1)[-1] for w in members]


def find_weights(model_name: str, weights_enum, weights_path: str | Path | None) -> Path:
    """The weights file to load for ``model_name``, or ``PretrainedWeightsError`` saying where it looked."""
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise PretrainedWeightsError(
                f"Pretrained weights for {model_name!r} not found at {path}: pass the path of an "
                f"existing torchvision state dict (.pth), or pretrained=False to train from scratch."
            )
        return path
    candidates = cache_candidates(weights_enum)
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(str(p) for p in candidates)
    raise PretrainedWeightsError(
        f"No ImageNet weights for {model_name!r}: looked for {looked}. Copy torchvision's file "
        f"{candidates[0].name} there (torchvision downloads it with weights='DEFAULT' on a machine "
        f"with internet), pass weights_path=<file>, or use pretrained=False."
    )


def load_pretrained(model: nn.Module, model_name: str, weights_enum, weights_path: str | Path | None,
                    allowed_missing: tuple[str, ...] = ()) -> Path:
    """Load ImageNet weights into ``model`` (still with its 3-channel stem and 1000-class head).

    Keys containing one of ``allowed_missing`` (new attention layers) may be absent from the file.
    """
    path = find_weights(model_name, weights_enum, weights_path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file reaches the person the same way
        raise PretrainedWeightsError(f"Cannot read pretrained weights {path}: {exc}") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise PretrainedWeightsError(f"{path} holds a {type(state).__name__}, not a state dict")
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise PretrainedWeightsError(f"Weights {path} do not fit {model_name!r}: {exc}") from exc
    missing = [k for k in result.missing_keys if not any(part in k for part in allowed_missing)]
    if missing or result.unexpected_keys:
        raise PretrainedWeightsError(
            f"Weights {path} do not fit {model_name!r}: missing {missing[:5]}, "
            f"unexpected {list(result.unexpected_keys)[:5]}"
        )
    return path


def adapt_input_conv(conv: nn.Conv2d, in_chans: int, *, pretrained: bool) -> nn.Conv2d:
    """``conv`` taking ``in_chans`` channels; pretrained RGB filters are summed (1) or tiled (n)."""
    if in_chans == conv.in_channels:
        return conv
    new = nn.Conv2d(in_chans, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                    conv.dilation, conv.groups, bias=conv.bias is not None, padding_mode=conv.padding_mode)
    if pretrained:
        with torch.no_grad():
            weight = conv.weight
            if in_chans == 1:
                new.weight.copy_(weight.sum(dim=1, keepdim=True))
            else:
                repeats = math.ceil(in_chans / weight.shape[1])
                tiled = weight.repeat(1, repeats, 1, 1)[:, :in_chans]
                new.weight.copy_(tiled * (weight.shape[1] / in_chans))
            if conv.bias is not None:
                new.bias.copy_(conv.bias)
    return new


def new_head(old: nn.Linear, num_classes: int) -> nn.Linear:
    """A freshly initialised linear layer like ``old`` with ``num_classes`` outputs."""
    return nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
