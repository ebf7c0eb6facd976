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
# Counted in voiced seconds (engine/audio/voicing.py): pauses and silence are not the speaker.
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


# -- statistics only from voiced audio --------------------------------------------------------

class VoicedWindows:
    """Cuts a speaker's voiced audio (engine/audio/voicing.py), joined across recordings, into
    model windows: every window is made only of voiced audio, none is padded with zeros.

    :meth:`add` returns the whole windows ``[k, n]`` the audio completed; :meth:`finish` the last
    piece, filled by repeating voiced audio, when it is at least a quarter of a window or the
    only audio there is. :attr:`voiced_s` counts the voiced seconds added."""

    def __init__(self, n_samples: int, rate_hz: int) -> None:
        self.n, self.rate_hz = int(n_samples), int(rate_hz)
        self._buffer = np.zeros(0, dtype=np.float32)
        self.voiced_samples = 0
        self.windows = 0

    @property
    def voiced_s(self) -> float:
        return self.voiced_samples / self.rate_hz

    def add(self, voiced: np.ndarray) -> np.ndarray:
        voiced = np.asarray(voiced, dtype=np.float32).reshape(-1)
        self.voiced_samples += len(voiced)
        self._buffer = np.concatenate([self._buffer, voiced])
        k = len(self._buffer) // self.n
        whole = self._buffer[: k * self.n].reshape(k, self.n)
        self._buffer = self._buffer[k * self.n :]
        self.windows += k
        return whole

    def finish(self) -> np.ndarray:
        piece, self._buffer = self._buffer, np.zeros(0, dtype=np.float32)
        if not len(piece) or (self.windows and len(piece) < self.n // 4):
            return np.zeros((0, self.n), dtype=np.float32)
        self.windows += 1
        return np.resize(piece, self.n)[None]       # np.resize repeats the piece


# -- refusing implausible statistics ----------------------------------------------------------

class CalibrationRefused(ValueError):
    """A speaker's statistics are too far from the model's own to be a voice it can be fitted to;
    the message says why (and, where the caller knows them, names the recordings)."""


# A calibration is refused when, against the model's stored (default) statistics, the median band
# mean moves by more than MAX_MEAN_SHIFT default standard deviations, or the median band
# deviation is more than MAX_STD_RATIO times (or less than 1/MAX_STD_RATIO of) the stored one.
# Chosen from docs/CALIBRATION.md: EmoDB speakers calibrated on their clips move at most ~1 sd
# (median band), silence-polluted calibrations and digital-silence files far more.
MAX_MEAN_SHIFT = 3.0
MAX_STD_RATIO = 1.5


def implausibility(stats: np.ndarray, default: np.ndarray) -> str | None:
    """Why ``stats`` are implausibly far from the model's ``default`` statistics, or None."""
    stats, default = np.asarray(stats, np.float64), np.asarray(default, np.float64)
    shift = (stats[0] - default[0]) / default[1]
    ratio = stats[1] / default[1]
    median_shift, median_ratio = float(np.median(shift)), float(np.median(ratio))
    if abs(median_shift) > MAX_MEAN_SHIFT:
        return (f"its band means lie {abs(median_shift):.1f} of the model's standard deviations "
                f"{'below' if median_shift < 0 else 'above'} the model's own (median band; at most "
                f"{MAX_MEAN_SHIFT:g} is plausible for a voice)")
    if not 1 / MAX_STD_RATIO <= median_ratio <= MAX_STD_RATIO:
        return (f"its band deviations are {median_ratio:.2f} times the model's own (median band; "
                f"{1 / MAX_STD_RATIO:.2f} to {MAX_STD_RATIO:g} is plausible for a voice)")
    return None


def stored_stats(path, n_mels: int) -> np.ndarray | None:
    """The :data:`STATS_NAME` initializer a model file stores ``[2, n_mels]`` (its default, what an
    uncalibrated model uses), read from the protobuf without onnx; None if absent or malformed."""
    from engine.errors import ModelLoadError
    from engine.models.scan import float_initializer

    try:
        values = float_initializer(path, STATS_NAME)
    except (OSError, ValueError, ModelLoadError):
        return None
    if values is None or values.size != 2 * n_mels or not np.isfinite(values).all():
        return None
    return values.reshape(2, n_mels)


def calibrate_voiced(classifier, clips, cancel=None) -> tuple[np.ndarray, float]:
    """``(band statistics, voiced seconds)`` of one speaker's ``clips`` (1-D arrays at the model
    rate) for ``classifier`` (an :class:`engine.models.classifier.OnnxClassifier`): each clip's
    voiced frames (engine/audio/voicing.py, gated against that clip's loud frames) are joined into
    :class:`VoicedWindows` whose band moments are pooled. Raises :class:`CalibrationRefused` when
    nothing is voiced or the statistics are implausible against the model's stored ones."""
    from engine.audio.voicing import voiced_audio
    from engine.errors import ModelLoadError

    pooled = BandMoments(classifier.n_bands)
    rate = classifier.meta.sample_rate_hz
    cutter = VoicedWindows(classifier.meta.n_samples, rate)
    any_clip = False

    batch = getattr(classifier, "_max_batch", 16)

    def pool(windows: np.ndarray) -> None:
        for i in range(0, len(windows), batch):
            pooled.add(classifier.band_moments(windows[i : i + batch]))

    for samples in clips:
        if cancel is not None:
            cancel.raise_if_cancelled("calibrating")
        any_clip = True
        pool(cutter.add(voiced_audio(samples, rate)))
    pool(cutter.finish())
    if not any_clip:
        raise ValueError(f"{classifier.path}: calibrating needs at least one clip of the speaker")
    if not pooled.count:
        raise CalibrationRefused("no voiced audio: every frame is under the energy gate "
                                 "(silence, or noise far below the loudest sound)")
    try:
        stats = check_stats(pooled.stats(), classifier.n_bands, str(classifier.path))
    except ValueError as exc:
        raise ModelLoadError(f"{classifier.path}: the model's band moments give unusable statistics ({exc})") from exc
    check_plausible(classifier, stats)
    return stats, cutter.voiced_s


def check_plausible(classifier, stats: np.ndarray) -> None:
    """:class:`CalibrationRefused` when ``stats`` are implausible against the model's stored ones."""
    default = getattr(classifier, "default_stats", None)
    why = None if default is None or not getattr(classifier, "refuse_implausible", True) else implausibility(stats, default)
    if why is not None:
        raise CalibrationRefused(f"the speaker's statistics are implausible for this model: {why}")
