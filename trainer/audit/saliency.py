"""Why a model judged a clip as it did: saliency maps over its log-mel spectrogram.

* :func:`saliency` — Grad-CAM of a torch classifier (last ``Conv2d``; input gradients when it
  has none). :func:`gradcam_for_clip` runs it on a waveform through an Earmark
  ``WaveformModel`` (its ``frontend`` log-mel and ``classifier``).
* :func:`occlusion_saliency` — for any model, torch or not: how much the target's probability
  drops when each time-frequency patch is masked (used with the audit's on-the-spot model).

torch is imported inside the functions that need it, never at module import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClipSaliency:
    saliency: np.ndarray        # [n_mels, frames], in [0, 1]
    mel_centres_hz: np.ndarray  # [n_mels]
    hop_s: float
    target: int
    probs: np.ndarray           # the model's class probabilities for the clip


def occlusion_saliency(score: Callable[[np.ndarray], np.ndarray], logmel: np.ndarray, *,
                       patch_mels: int = 8, patch_frames: int = 10) -> np.ndarray:
    """Drop of the target's score when each time-frequency patch is masked, in [0, 1], ``logmel``'s shape.

    ``score`` maps a batch of log-mels ``[b, n_mels, frames]`` to the target's probability ``[b]``.
    Works for any model (the on-the-spot one included); masked patches take the clip's floor value.
    """
    n_mels, n_frames = logmel.shape
    floor = float(np.percentile(logmel, 5))
    boxes = [(m, t) for m in range(0, n_mels, patch_mels) for t in range(0, n_frames, patch_frames)]
    batch = np.repeat(logmel[None], len(boxes), axis=0)
    for b, (m, t) in enumerate(boxes):
        batch[b, m : m + patch_mels, t : t + patch_frames] = floor
    drops = float(score(logmel[None])[0]) - score(batch)
    out = np.zeros_like(logmel, dtype=np.float32)
    for drop, (m, t) in zip(drops, boxes, strict=True):
        out[m : m + patch_mels, t : t + patch_frames] = max(float(drop), 0.0)
    return out / out.max() if out.max() > 0 else out


def saliency(model, logmel, target: int) -> np.ndarray:
    """Grad-CAM of a torch classifier (input log-mel ``[n_mels, frames]`` or ``[1, 1, n_mels, frames]``).

    Uses the last ``Conv2d``; a model without one gets input-gradient saliency. Returns a
    ``[n_mels, frames]`` map in [0, 1].
    """
    import torch
    import torch.nn.functional as F

    x = torch.as_tensor(np.asarray(logmel), dtype=torch.float32)
    shape = x.shape[-2:]
    x = x.reshape(1, 1, *shape).clone().requires_grad_(True)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    store: dict[str, torch.Tensor] = {}
    hook = None
    if convs:
        hook = convs[-1].register_forward_hook(lambda _m, _i, out: store.__setitem__("act", out))
    was_training = model.training
    model.eval()
    try:
        logits = model(x)
        if "act" in store:
            act = store["act"]
            grad, = torch.autograd.grad(logits[0, target], act)
            cam = F.relu((grad.mean(dim=(2, 3), keepdim=True) * act).sum(dim=1, keepdim=True))
            cam = F.interpolate(cam, size=tuple(shape), mode="bilinear", align_corners=False)[0, 0]
        else:
            grad, = torch.autograd.grad(logits[0, target], x)
            cam = grad.abs()[0, 0]
    finally:
        if hook is not None:
            hook.remove()
        model.train(was_training)
    cam = cam.detach().cpu().numpy().astype(np.float32)
    return cam / cam.max() if cam.max() > 0 else cam


def gradcam_for_clip(model, samples: np.ndarray, target: int | None = None) -> ClipSaliency:
    """Grad-CAM of a ``WaveformModel`` (``.frontend`` LogMel + ``.classifier``) on one mono clip.

    ``samples`` must be at ``model.frontend.sample_rate_hz``; ``target`` defaults to the model's
    own top class.
    """
    import torch

    frontend, classifier = model.frontend, model.classifier
    with torch.no_grad():
        logmel = frontend(torch.as_tensor(np.asarray(samples, dtype=np.float32))[None])
        if getattr(model, "band_norm", None) is not None:   # what a speaker-normalised classifier sees
            logmel = model.band_norm(logmel)
        probs = torch.softmax(classifier(logmel), dim=-1)[0].numpy()
    target = int(np.argmax(probs)) if target is None else int(target)
    fb = frontend.mel_fb.detach().cpu().numpy()
    freqs = np.fft.rfftfreq(frontend.n_fft, 1.0 / frontend.sample_rate_hz)
    centres = (fb * freqs[None, :]).sum(axis=1) / np.maximum(fb.sum(axis=1), 1e-12)
    cam = saliency(classifier, logmel[0, 0].numpy(), target)
    return ClipSaliency(cam, centres, frontend.hop_length / frontend.sample_rate_hz, target, probs)
