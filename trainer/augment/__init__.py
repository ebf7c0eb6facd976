"""Audio augmentations: one small class per file, a registry by name, composition.

Every augmentation has a probability ``p``, validated arguments, parameters drawn
from an injected ``numpy.random.Generator`` and a pure ``apply(samples,
sample_rate_hz, rng)`` that keeps the length and returns float32. The expensive
ones (pitch shift, time stretch, reverb) are cached per clip and variant by
:mod:`trainer.data.cache`; the cheap batch-level ones (:func:`spec_augment`,
:func:`spec_warp`, :func:`mixup`) run on the fly in the training loop.
"""

from __future__ import annotations

from trainer.augment.base import Augmentation
from trainer.augment.compose import Compose, OneOf
from trainer.augment.gain import Gain
from trainer.augment.noise import Noise
from trainer.augment.pitch_shift import PitchShift
from trainer.augment.reverb import Reverb
from trainer.augment.time_stretch import TimeStretch

AUGMENTATIONS: dict[str, type[Augmentation]] = {
    cls.name: cls for cls in (Noise, PitchShift, TimeStretch, Reverb, Gain)
}


def __getattr__(name: str):
    # the torch batch ops load lazily, so decoding workers never import torch
    if name in ("spec_augment", "mixup"):
        from trainer.augment import specaugment

        return getattr(specaugment, name)
    if name == "spec_warp":
        from trainer.augment import warp

        return warp.spec_warp
    raise AttributeError(f"module 'trainer.augment' has no attribute {name!r}")


def create_augmentation(name: str, **kwargs) -> Augmentation:
    """Build a registered augmentation; an unknown name lists the valid ones."""
    try:
        cls = AUGMENTATIONS[name]
    except KeyError:
        raise ValueError(f"unknown augmentation {name!r}; valid names: {', '.join(sorted(AUGMENTATIONS))}") from None
    return cls(**kwargs)


__all__ = ["AUGMENTATIONS", "Augmentation", "Compose", "Gain", "Noise", "OneOf", "PitchShift", "Reverb",
           "TimeStretch", "create_augmentation", "mixup", "spec_augment", "spec_warp"]
