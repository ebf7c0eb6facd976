"""An energy gate: which stretches of a recording hold sound loud enough to be the voice (numpy only).

Speaker calibration (engine/models/calibration.py) pools band statistics of a speaker's audio;
pauses, digital silence and room noise between utterances are not the speaker, and pooled in
they drag every band's mean down and its deviation up — on EmoDB one speaker's accuracy fell
from 49/49 to 8/49 calibrated on the same clips with 3 s of silence after each (docs/CALIBRATION.md).

The gate works on frames of :data:`FRAME_S`: a frame is voiced when its level (energy smoothed
over :data:`SMOOTH_FRAMES` frames) is at least :data:`FLOOR_DBFS` and within :data:`RELATIVE_DB`
of the recording's loud frames (the :data:`LOUD_PERCENTILE` percentile of its frame levels).
Digital silence and low room noise fall under the floor; a noise floor well below the speech
falls under the relative threshold; a recording that is all noise just under the floor keeps
nothing. It is no voice-activity detector: loud non-speech (music, a door) passes.
"""

from __future__ import annotations

import numpy as np

FRAME_S = 0.010        # the gate decides per 10 ms of audio
SMOOTH_FRAMES = 3      # a frame's level is the energy of it and its neighbours (30 ms)
FLOOR_DBFS = -65.0     # never voiced below this RMS level (digital silence, a quiet room)
RELATIVE_DB = 30.0     # nor further than this below the recording's loud frames
LOUD_PERCENTILE = 95.0
HANGOVER_S = 0.1       # frames this close to a voiced frame are kept too (onsets, decays, short pauses)


def frame_levels(samples: np.ndarray, rate_hz: int) -> np.ndarray:
    """Each whole frame's smoothed RMS level in dBFS (-120 for digital silence)."""
    frame = max(1, int(round(FRAME_S * rate_hz)))
    n = len(samples) // frame
    if n == 0:
        return np.zeros(0)
    x = np.asarray(samples[: n * frame], dtype=np.float64).reshape(n, frame)
    energy = np.mean(x * x, axis=1)
    if SMOOTH_FRAMES > 1 and n >= SMOOTH_FRAMES:
        half = SMOOTH_FRAMES // 2
        energy = np.convolve(energy, np.ones(SMOOTH_FRAMES) / SMOOTH_FRAMES)[half : half + n]
    return np.maximum(-120.0, 10.0 * np.log10(energy + 1e-12))


def voiced_mask(samples: np.ndarray, rate_hz: int, reference_db: float | None = None) -> np.ndarray:
    """One bool per whole frame of :data:`FRAME_S`: voiced or not. ``reference_db``: the loud
    level to gate against (live audio: the loudest heard so far), else this recording's own."""
    levels = frame_levels(samples, rate_hz)
    if not len(levels):
        return np.zeros(0, dtype=bool)
    loud = float(np.percentile(levels, LOUD_PERCENTILE)) if reference_db is None else float(reference_db)
    mask = levels >= max(FLOOR_DBFS, loud - RELATIVE_DB)
    hang = int(round(HANGOVER_S / FRAME_S))
    if hang and mask.any():
        mask = np.convolve(mask.astype(np.int32), np.ones(2 * hang + 1, np.int32))[hang : hang + len(mask)] > 0
    return mask


def loud_level(samples: np.ndarray, rate_hz: int) -> float:
    """The level of a recording's loud frames (dBFS), what :func:`voiced_mask` gates against."""
    levels = frame_levels(samples, rate_hz)
    return float(np.percentile(levels, LOUD_PERCENTILE)) if len(levels) else -120.0


def voiced_audio(samples: np.ndarray, rate_hz: int, reference_db: float | None = None) -> np.ndarray:
    """The voiced frames of ``samples`` joined end to end (float32; empty when none is voiced)."""
    mask = voiced_mask(samples, rate_hz, reference_db)
    frame = max(1, int(round(FRAME_S * rate_hz)))
    if not mask.any():
        return np.zeros(0, dtype=np.float32)
    frames = np.asarray(samples[: len(mask) * frame], dtype=np.float32).reshape(len(mask), frame)
    return frames[mask].reshape(-1)
