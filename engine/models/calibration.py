"""Per-speaker band normalisation: the statistics a calibratable model is fed (numpy only).

Speech models trained with ``speaker_norm`` see each mel band z-scored by the statistics of
the speaker's own clips, not of the one window: a speaker's voice (pitch, timbre, level) is
most of what varies between speakers and little of what says the emotion. Measured on EmoDB,
four speaker-pair folds (docs/RECIPE.md): pooled out-of-fold macro F1 0.681 with per-window
standardisation, 0.791 with per-speaker band statistics.

A model file that supports it (the model-file contract, docs/MODELS.md) has

* an overridable initializer :data:`STATS_NAME` float32 ``[2, n_mels]``: row 0 each band's mean
  in dB, row 1 its standard deviation (floor included); its stored value is the training
  clips' pooled statistics, used when nothing is fed (an uncalibrated model);
* a second output :data:`MOMENTS_NAME` float32 ``[batch, 2, n_mels]``: for each window, each
  band's mean over frames of the log-mel dB and the mean of its square.

:class:`BandMoments` pools windows' moments into statistics; the trainer computes a speaker's
statistics with the same function, so a calibrated model sees what it was trained on.
"""

from __future__ import annotations

import numpy as np

STATS_NAME = "band_stats"
MOMENTS_NAME = "band_moments"
# Calibrating on less of a speaker's audio than this does more harm than good. Measured with
# the EmoDB fold models (docs/EMODB_MODEL.md), each test clip scored after calibrating to
# randomly drawn 2 s clips of its speaker: 1 clip (the clip itself) macro F1 0.371, 5 clips
# 0.709, 10 clips (20 s) 0.759, 20 clips 0.789, all of the speaker's 0.811; uncalibrated 0.683.
MIN_CALIBRATION_S = 20.0
STD_FLOOR = 1e-3   # dB added to every band's standard deviation: a silent band divides by this
MAX_ABS_DB = 1e4   # statistics past this are not log-mel decibels


class BandMoments:
    """Running sum of per-window band moments; :meth:`stats` is what a model is fed."""

    def __init__(self, n_mels: int) -> None:
        self.n_mels = int(n_mels)
        self._sum = np.zeros((2, self.n_mels), dtype=np.float64)
        self.count = 0

    def add(self, moments: np.ndarray) -> None:
        """Add windows' moments ``[batch, 2, n_mels]`` (mean and mean square over frames)."""
        moments = np.asarray(moments, dtype=np.float64)
        if moments.ndim != 3 or moments.shape[1:] != (2, self.n_mels):
            raise ValueError(f"band moments must be [batch, 2, {self.n_mels}], got {list(moments.shape)}")
        if not np.isfinite(moments).all():
            raise ValueError("band moments hold NaN or infinite values")
        self._sum += moments.sum(axis=0)
        self.count += len(moments)

    def stats(self) -> np.ndarray:
        """``[2, n_mels]`` float32: each band's mean and standard deviation (+ :data:`STD_FLOOR`)."""
        if not self.count:
            raise ValueError("no windows were added, so there are no band statistics")
        mean, mean_square = self._sum / self.count
        std = np.sqrt(np.maximum(mean_square - mean * mean, 0.0)) + STD_FLOOR
        return np.stack([mean, std]).astype(np.float32)


def window_moments(logmel_db: np.ndarray) -> np.ndarray:
    """``[batch, 2, n_mels]`` moments of log-mel windows ``[batch, n_mels, frames]`` (float64 sums)."""
    x = np.asarray(logmel_db, dtype=np.float64)
    return np.stack([x.mean(axis=-1), (x * x).mean(axis=-1)], axis=1)


def calibration_support(session) -> tuple[int | None, str]:
    """``(n_mels, "")`` when an ONNX Runtime session takes band statistics and answers band
    moments as the contract says; else ``(None, why not)`` (the model still classifies)."""
    stats = [i for i in session.get_overridable_initializers() if i.name == STATS_NAME]
    moments = [o for o in session.get_outputs()[1:] if o.name == MOMENTS_NAME]
    if not stats and not moments:
        return None, "the model takes no band statistics (it was not trained with speaker normalisation)"
    if not stats or not moments:
        missing = STATS_NAME if not stats else MOMENTS_NAME
        return None, f"the model lacks '{missing}', so it cannot be calibrated"
    s_shape, m_shape = list(stats[0].shape), list(moments[0].shape)
    if (stats[0].type != "tensor(float)" or moments[0].type != "tensor(float)" or len(s_shape) != 2
            or s_shape[0] != 2 or not isinstance(s_shape[1], int) or not 1 <= s_shape[1] <= 4096
            or len(m_shape) != 3 or m_shape[1:] != s_shape):
        return None, (f"its '{STATS_NAME}' {s_shape} and '{MOMENTS_NAME}' {m_shape} are not float32 "
                      f"[2, n_mels] and [batch, 2, n_mels]")
    return int(s_shape[1]), ""


def check_stats(stats: np.ndarray, n_mels: int, source: str = "band statistics") -> np.ndarray:
    """``stats`` as float32 ``[2, n_mels]`` with finite means and positive deviations, or ValueError."""
    stats = np.asarray(stats, dtype=np.float32)
    if stats.shape != (2, n_mels):
        raise ValueError(f"{source}: expected [2, {n_mels}] band statistics, got {list(stats.shape)}")
    if not np.isfinite(stats).all() or np.abs(stats).max() > MAX_ABS_DB:
        raise ValueError(f"{source}: band statistics must be finite decibels (|x| <= {MAX_ABS_DB:g})")
    if stats[1].min() < STD_FLOOR * 0.5:
        raise ValueError(f"{source}: band standard deviations must be at least {STD_FLOOR:g} dB")
    return stats
