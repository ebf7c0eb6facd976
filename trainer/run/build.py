"""Build the trained network of a resolved request, and the waveform model that is exported.

One place, so a training run, a cancelled run's export (``trainer.run.salvage``) and a reload
build the same network from the same ``config.json``.
"""

from __future__ import annotations

import torch

from trainer.models.frontend import BandNorm, Classifier, WaveformModel
from trainer.run.resolve import frontend_config


def build_classifier(config, num_classes: int) -> Classifier:
    """The :class:`Classifier` (backbone behind resize + standardise) of a resolved request."""
    from trainer.models import create_model, model_info

    kw = {"attn": config.attn} if config.attn else {}
    try:
        backbone = create_model(config.model, num_classes=num_classes, pretrained=config.pretrained,
                                weights_path=config.weights, **kw)
    except TypeError as exc:
        raise ValueError(f"model {config.model!r} does not take these options ({exc})") from exc
    in_chans = getattr(backbone, "in_chans", model_info(config.model).default_in_chans)
    # Band-normalised log-mels (speaker_norm) are not standardised again per window.
    model = Classifier(backbone, in_chans, config.input_size, standardise=not getattr(config, "speaker_norm", False))
    model.num_classes = num_classes
    return model


def export_model(config, classifier: Classifier, band_default=None) -> WaveformModel:
    """Waveform in, probabilities out, on the CPU in float32: what ``export_onnx`` writes.

    A ``speaker_norm`` run's model needs its default band statistics (``band_default``
    ``[2, n_mels]``, trainer/data/speaker_norm.py) and is exported calibratable."""
    band_norm = None
    if getattr(config, "speaker_norm", False):
        if band_default is None:
            raise ValueError("a speaker-normalised model needs its default band statistics to be exported")
        band_norm = BandNorm(torch.as_tensor(band_default, dtype=torch.float32))
    model = WaveformModel(frontend_config(config).logmel(), classifier, band_norm).to("cpu").float().eval()
    return model.to(memory_format=torch.contiguous_format)
