"""Per-speaker band statistics of a run's cached log-mels (no labels are read).

When a data set names its speakers (EmoDB, a CSV with a ``speaker`` column) the recipe
z-scores every mel band by the statistics of the speaker's own clips (engine/models/calibration.py)
instead of standardising each window by itself. A speaker's statistics come from the original
windows of all that speaker's clips, labels unread; so a test speaker is normalised by its own
unlabelled recordings, as ``main.py classify --calibrate`` normalises a new speaker at use. The
model file's default statistics, for a speaker nobody calibrated, are the training speakers'
statistics averaged; the run reports its test figures both ways.

Measured on EmoDB (docs/RECIPE.md, four speaker-pair folds): pooled out-of-fold macro F1 0.681
with per-window standardisation, 0.791 with per-speaker band statistics.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.atomic import atomic_write_json
from engine.models.calibration import BandMoments, check_stats, window_moments
from trainer.data.cache import ORIGINAL, CacheItem, FeatureCache

STATS_FILE = "band_stats.json"


def uses_speaker_norm(manifest) -> bool:
    """Whether the recipe's default normalises per speaker: every clip names one, two or more."""
    speakers = {clip.speaker for clip in manifest.clips}
    return bool(manifest.clips) and None not in speakers and len(speakers) >= 2


def speaker_norm_off_reason(manifest) -> str | None:
    """Why a data set that names speakers still trains without speaker normalisation (None when
    it names none, or when the default turns it on): said, never silently off."""
    named = [clip.speaker for clip in manifest.clips if clip.speaker is not None]
    if not named or uses_speaker_norm(manifest):
        return None
    blank = len(manifest.clips) - len(named)
    if blank:
        return (f"{manifest.root}: {blank} of {len(manifest.clips)} clip(s) name no speaker, so speaker "
                "normalisation is off; fill in every speaker cell to turn it on")
    return (f"{manifest.root}: every clip names the same speaker ({named[0]!r}), so speaker normalisation "
            "is off; it needs at least two speakers")


def speaker_stats(cache: FeatureCache, manifest, cancel=None) -> dict[str, np.ndarray]:
    """``{speaker: [2, n_mels]}`` from the original windows of each speaker's clips."""
    features = cache.features()
    n_mels = cache.shape[1]
    moments: dict[str, BandMoments] = {}
    for item in cache.items:
        if item.variant != ORIGINAL:
            continue
        if cancel is not None and item.item % 256 == 0:
            cancel.raise_if_cancelled("computing speaker statistics")
        speaker = manifest.clips[item.clip_index].speaker
        pooled = moments.setdefault(speaker, BandMoments(n_mels))
        pooled.add(window_moments(np.asarray(features[item.item], dtype=np.float32)[None]))
    return {speaker: pooled.stats() for speaker, pooled in moments.items()}


def default_stats(stats: dict[str, np.ndarray], speakers: Sequence[str]) -> np.ndarray:
    """The model's statistics for an uncalibrated speaker: the ``speakers``' statistics averaged."""
    chosen = [stats[s] for s in sorted(set(speakers)) if s in stats]
    if not chosen:
        raise ValueError("no training speaker has band statistics")
    return np.mean(chosen, axis=0).astype(np.float32)


def item_stats(items: Sequence[CacheItem], manifest, stats: dict[str, np.ndarray],
               fixed: np.ndarray | None = None) -> np.ndarray:
    """``[len(items), 2, n_mels]``: each item's speaker's statistics (or ``fixed`` for all)."""
    if fixed is not None:
        return np.broadcast_to(fixed, (len(items), *fixed.shape)).copy()
    if not items:
        return np.zeros((0, *next(iter(stats.values())).shape), dtype=np.float32)
    return np.stack([stats[manifest.clips[it.clip_index].speaker] for it in items]).astype(np.float32)


def write_stats(run_dir: Path, stats: dict[str, np.ndarray], default: np.ndarray,
                training_speakers: Sequence[str]) -> Path:
    path = Path(run_dir) / STATS_FILE
    atomic_write_json(path, {"default": default.tolist(), "training_speakers": sorted(set(training_speakers)),
                             "speakers": {s: v.tolist() for s, v in sorted(stats.items())}})
    return path


def read_default(run_dir: Path, n_mels: int) -> np.ndarray:
    """The default statistics a run stored (what its exported model uses uncalibrated)."""
    path = Path(run_dir) / STATS_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return check_stats(np.asarray(doc["default"], dtype=np.float32), n_mels, str(path))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: the run's band statistics are missing or damaged ({exc})") from exc
