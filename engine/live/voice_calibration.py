"""Calibrating a speaker-normalised model to the voice it hears live (Qt-free).

The live stream hands every non-silent window to :meth:`VoiceCalibration.observe`; one window
per clip length of new audio (so that overlapping hops do not count the same audio four times)
adds its band moments (engine/models/calibration.py). Until :data:`MIN_CALIBRATION_S` of the voice has
been heard the model runs uncalibrated, with its training speakers' average; from then on it is
fed the statistics of everything heard so far, refreshed with each window added. Calibrating on
less audio does more harm than good (1 clip: macro F1 0.37 against 0.68 uncalibrated on EmoDB).
"""

from __future__ import annotations

import numpy as np

from engine.models.calibration import MIN_CALIBRATION_S, BandMoments


class VoiceCalibration:
    """Running band statistics of the voice heard; :meth:`observe` returns the model to use."""

    def __init__(self, classifier, min_s: float = MIN_CALIBRATION_S) -> None:
        if not classifier.calibratable:
            raise ValueError(f"{classifier.path}: cannot be calibrated: {classifier.calibration_problem}")
        self.base = classifier.calibrated(None)
        self.min_s = float(min_s)
        self.windows = 0                   # windows pooled, each a clip length of new audio
        self._pooled = BandMoments(classifier.n_bands)
        self._since_s = float("inf")      # the first window heard counts at once
        self._active = self.base

    @property
    def heard_s(self) -> float:
        return self.windows * self.base.meta.clip_s

    @property
    def calibrated(self) -> bool:
        return self.heard_s >= self.min_s - 1e-9

    def observe(self, samples: np.ndarray, new_s: float):
        """``samples`` (one window at the model rate) arrived with ``new_s`` seconds of new audio;
        the classifier to label it with (calibrated once enough of the voice was heard)."""
        clip_s, n = self.base.meta.clip_s, self.base.meta.n_samples
        self._since_s += new_s
        if self._since_s >= clip_s and len(samples) >= n:
            self._pooled.add(self.base.band_moments(np.asarray(samples[-n:], dtype=np.float32)[None]))
            self.windows += 1
            self._since_s = 0.0
            if self.calibrated:
                self._active = self.base.calibrated(self._pooled.stats())
        return self._active

    def describe(self) -> str:
        if self.calibrated:
            return f"calibrated to the voice ({self.heard_s:.0f} s heard)"
        return f"calibrating to the voice: {self.heard_s:.0f} of {self.min_s:.0f} s heard"
