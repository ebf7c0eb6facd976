"""What the audit's on-the-spot model sees: log-mel spectrograms and per-clip summary statistics.

Numpy and scipy only (no torch, no Qt): the app imports the audit lazily in a worker thread.
Every feature is computed from the clip's log-mel spectrogram alone, so the occlusion
saliency of :func:`trainer.audit.rank.explain` (mask a patch, recompute the features) covers all
of them.

Per clip, over the *active* frames (within ``ACTIVE_DB`` of the loudest frame):

* per mel band (48): mean, std, 10/50/90th percentiles, mean |Δ|;
* loudness (the frame maxima): mean, std, 10/50/90th percentiles, active fraction;
* MFCC 1–20 (DCT-II of the log-mel): mean, std, 10th and 90th percentiles, std of Δ and ΔΔ;
* spectral contrast in 6 sub-bands (peak minus valley): mean and std;
* spectral flatness and centroid (mel-band index): mean, std, centroid percentiles.

Nothing here is fitted to a data set; the audit z-scores the features per speaker when the
data set has speakers, and its classifiers standardise them.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dct

from engine.audio.mel import mel_filterbank

FEATURE_RATE_HZ = 16000
N_FFT = 512
HOP = 160  # 10 ms
N_MELS = 48
N_MFCC = 20
N_CONTRAST_BANDS = 6
ACTIVE_DB = 50.0  # frames within this of the loudest frame count as voiced / active
PERCENTILES = (10, 50, 90)
HOP_S = HOP / FEATURE_RATE_HZ


_BANK = mel_filterbank(FEATURE_RATE_HZ, N_FFT, N_MELS, f_min=30.0)   # engine/audio/mel.py: the one mel scale


def mel_centres_hz() -> np.ndarray:
    """Centre frequency of each log-mel band (for drawing a saliency map on a linear axis)."""
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / FEATURE_RATE_HZ)
    return (_BANK * freqs[None, :]).sum(axis=1) / _BANK.sum(axis=1)


def log_mel(samples: np.ndarray) -> np.ndarray:
    """Log-mel dB ``[N_MELS, frames]`` of 16 kHz audio (Hann, 32 ms window, 10 ms hop)."""
    x = np.pad(np.asarray(samples, dtype=np.float32), (N_FFT // 2, N_FFT // 2))
    x = np.pad(x, (0, max(0, N_FFT - len(x))))
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * np.hanning(N_FFT).astype(np.float32), axis=1)) ** 2
    return (10.0 * np.log10(_BANK @ power.T + 1e-10)).astype(np.float32)


def _diff(m: np.ndarray) -> np.ndarray:
    return np.diff(m, axis=1) if m.shape[1] > 1 else np.zeros((len(m), 1), dtype=m.dtype)


def _contrast(m: np.ndarray) -> np.ndarray:
    """Peak minus valley (dB) per sub-band and frame, ``[N_CONTRAST_BANDS, frames]``."""
    rows = []
    for band in np.array_split(np.arange(len(m)), N_CONTRAST_BANDS):
        ordered = np.sort(m[band], axis=0)
        q = max(1, len(band) // 5)
        rows.append(ordered[-q:].mean(axis=0) - ordered[:q].mean(axis=0))
    return np.array(rows)


def summary_features(logmel: np.ndarray) -> np.ndarray:
    """One clip's feature vector (see the module docstring) from its log-mel ``[N_MELS, frames]``."""
    energy = logmel.max(axis=0)
    active = energy >= energy.max() - ACTIVE_DB
    enough = active.sum() >= 2
    m = logmel[:, active] if enough else logmel
    e = energy[active] if enough else energy
    mfcc = dct(m, type=2, axis=0, norm="ortho")[1:N_MFCC + 1]
    d_mfcc = _diff(mfcc)
    power = 10.0 ** (m / 10.0)
    flatness = np.exp(np.log(power + 1e-10).mean(axis=0)) / (power.mean(axis=0) + 1e-10)
    centroid = (power * np.arange(len(m))[:, None]).sum(axis=0) / (power.sum(axis=0) + 1e-10)
    contrast = _contrast(m)
    return np.concatenate([
        m.mean(axis=1), m.std(axis=1), *np.percentile(m, PERCENTILES, axis=1), np.abs(_diff(m)).mean(axis=1),
        [e.mean(), e.std(), *np.percentile(e, PERCENTILES), active.mean()],
        mfcc.mean(axis=1), mfcc.std(axis=1), *np.percentile(mfcc, (10, 90), axis=1),
        d_mfcc.std(axis=1), _diff(d_mfcc).std(axis=1),
        contrast.mean(axis=1), contrast.std(axis=1),
        [flatness.mean(), flatness.std(), centroid.mean(), centroid.std(), *np.percentile(centroid, PERCENTILES)],
    ]).astype(np.float32)


def speaker_normalise(x: np.ndarray, speakers: list[str | None]) -> tuple[np.ndarray, dict]:
    """z-score features per speaker (no labels used), the usual step for speech emotion."""
    if not all(speakers) or len(set(speakers)) < 2:
        return x, {}
    out, stats = x.copy(), {}
    for speaker in sorted(set(speakers)):
        rows = np.array([s == speaker for s in speakers])
        mean, std = x[rows].mean(axis=0), x[rows].std(axis=0) + 1e-6
        out[rows] = (x[rows] - mean) / std
        stats[speaker] = (mean, std)
    return out, stats
