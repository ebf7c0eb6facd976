"""From a :class:`~trainer.recipe.TrainRequest` and its data to the settings a run uses.

The request is a pure schema (every setting and its only default, no imports of the trainer);
this module fills in what it leaves ``None`` from the clips and the model, and derives the
log-mel frontend, the loop's settings and the feature cache's folder from a resolved request.
(It was the request's own methods once; they imported the loop that imports the request, a
circle.)
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import Counter
from pathlib import Path

from engine.userdirs import cache_dir
from trainer.data.cache import FrontendConfig
from trainer.data.speaker_norm import speaker_norm_off_reason, uses_speaker_norm
from trainer.models import model_info
from trainer.recipe import (
    DEFAULT_SAMPLE_RATE_HZ,
    IMAGENET_INPUT_SIZE,
    MAX_WINDOW_S,
    WINDOW_QUANTILE,
    TrainRequest,
)
from trainer.run.loop import LoopConfig

log = logging.getLogger(__name__)


def resolve(request: TrainRequest, manifest) -> TrainRequest:
    """A copy of ``request`` with every ``None`` setting filled in from the data and the model."""
    info = model_info(request.model)
    rate_hz, clip_s = request.sample_rate_hz, request.clip_s
    if rate_hz is None or clip_s is None:
        probed_rate_hz, probed_s = probe_clips(manifest)
        rate_hz = rate_hz or min(DEFAULT_SAMPLE_RATE_HZ, probed_rate_hz)
        clip_s = clip_s or probed_s
    n_fft = request.n_fft or 2 ** round(math.log2(0.032 * rate_hz))
    speaker_norm = request.speaker_norm
    if speaker_norm is None:
        speaker_norm = uses_speaker_norm(manifest)
        reason = speaker_norm_off_reason(manifest)
        if reason is not None:
            log.warning("%s", reason)
    elif speaker_norm and not uses_speaker_norm(manifest):
        raise ValueError(f"{request.data}: speaker normalisation needs every clip to name its speaker (EmoDB "
                         "names, or a CSV 'speaker' column) and at least two speakers")
    resolved = dataclasses.replace(request, sample_rate_hz=int(rate_hz), clip_s=float(clip_s), n_fft=int(n_fft),
                                   layout=manifest.layout, speaker_norm=bool(speaker_norm))
    if resolved.input_size is None:
        frontend = frontend_config(resolved)
        frames = frontend.n_samples // frontend.logmel().hop_length + 1
        side = info.min_input_size
        resolved.input_size = (IMAGENET_INPUT_SIZE if info.default_in_chans == 3
                               else (max(side, request.n_mels), max(side, frames)))
    return resolved


def frontend_config(request: TrainRequest) -> FrontendConfig:
    """The log-mel frontend of a resolved request."""
    if request.sample_rate_hz is None or request.clip_s is None:
        raise ValueError("resolve() the request before asking for its frontend")
    n_fft = request.n_fft or 1024
    hop = max(1, min(n_fft, int(round(request.hop_s * request.sample_rate_hz)))) if request.hop_s else None
    return FrontendConfig(sample_rate_hz=request.sample_rate_hz, clip_s=request.clip_s, n_mels=request.n_mels,
                          n_fft=n_fft, hop_length=hop)


def loop_config(request: TrainRequest) -> LoopConfig:
    """The training loop's settings (the fields the loop and the request share)."""
    return LoopConfig(**{f.name: getattr(request, f.name) for f in dataclasses.fields(LoopConfig)
                         if hasattr(request, f.name)})


def cache_root(request: TrainRequest) -> Path:
    """The feature cache's folder: the request's ``cache_dir``, else the user cache's."""
    return Path(request.cache_dir) if request.cache_dir else cache_dir("features")


def probe_clips(manifest, limit: int = 400) -> tuple[int, float]:
    """The most common sample rate and the window length: the 95th percentile of the clips'
    durations rounded up to 0.1 s, at most ``MAX_WINDOW_S``."""
    import soundfile as sf

    rates, durations = Counter(), []
    step = max(1, len(manifest.clips) // limit)
    for clip in manifest.clips[::step]:
        try:
            info = sf.info(str(clip.path))
        except (OSError, RuntimeError, ValueError):
            continue  # unreadable clips are reported when the cache decodes them
        rates[int(info.samplerate)] += 1
        durations.append(info.frames / info.samplerate)
    if not durations:
        return DEFAULT_SAMPLE_RATE_HZ, 5.0
    durations.sort()
    long_s = durations[min(len(durations) - 1, int(WINDOW_QUANTILE * len(durations)))]
    return rates.most_common(1)[0][0], float(min(MAX_WINDOW_S, max(0.1, math.ceil(round(long_s, 3) * 10) / 10)))
