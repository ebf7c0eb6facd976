"""The one mel scale and mel filterbank of Earmark: the model's frontend, the audit's features and
the spectrogram display all use these (Slaney's scale and area normalisation, as librosa's
``htk=False, norm="slaney"``), so a band means the same frequencies everywhere.

Written here in numpy rather than imported from librosa because the app (engine/) does not
install librosa; ``tests/trainer/models/test_frontend.py`` checks it equals librosa's filters.
"""

from __future__ import annotations

import math

import numpy as np

_F_SP = 200.0 / 3          # Hz per mel below 1 kHz
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(freq_hz):
    """Slaney's mel scale (librosa ``htk=False``): linear below 1 kHz, logarithmic above."""
    freq_hz = np.asarray(freq_hz, dtype=np.float64)
    log_part = _MIN_LOG_MEL + np.log(np.maximum(freq_hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(freq_hz >= _MIN_LOG_HZ, log_part, freq_hz / _F_SP)


def mel_to_hz(mels):
    mels = np.asarray(mels, dtype=np.float64)
    log_part = _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(mels, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(mels >= _MIN_LOG_MEL, log_part, _F_SP * mels)


def mel_filterbank(sample_rate_hz: int, n_fft: int, n_mels: int, f_min: float = 0.0,
                   f_max: float | None = None) -> np.ndarray:
    """Slaney-normalised triangular mel filters ``[n_mels, n_fft // 2 + 1]`` (as librosa.filters.mel)."""
    f_max = sample_rate_hz / 2.0 if f_max is None else float(f_max)
    fft_freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate_hz)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(np.array([f_min]))[0], hz_to_mel(np.array([f_max]))[0],
                                   n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels])
    return (weights * enorm[:, None]).astype(np.float32)
