"""Embeddings: a fixed-size vector per window, for search, maps and active learning.

The model-file contract (DESIGN.md) lets a model answer an optional output named
:data:`EMBEDDING_NAME`, float32 ``[batch, dim]``: the pooled features its classifier head
receives (every model ``main.py train`` exports has one; ``trainer.run.export``). An engine
that does not know it ignores it; :class:`engine.models.classifier.OnnxClassifier` exposes it
as ``embed`` and ``predict_and_embed``.

A model without it (older files), or no model at all, gets the **fallback embedding**
:func:`band_statistics`: the mean and standard deviation over frames of each log-mel band
(dB), numpy only. It knows timbre and loudness per band but nothing a model learnt, so
"more like this" with it finds sounds with a similar spectrum (docs/INDEX.md measures both).

The index's default with a model that embeds is **both** (:func:`join_parts`): the model's
embedding and the window's :func:`band_profile` (seven statistics per band: the two above, the
10th, 50th and 90th percentiles, the maximum and the mean frame-to-frame change), each scaled to
unit length, side by side; the few-shot scorer weighs them (docs/INDEX.md: it found more on every
check than the model's embedding alone, most on sounds the model never learnt).
"""

from __future__ import annotations

import numpy as np

from engine.audio.mel import mel_filterbank

EMBEDDING_NAME = "embedding"
MAX_DIM = 65_536
FALLBACK_N_MELS = 64
FALLBACK_N_FFT = 1024
_AMIN = 1e-10
_FFT_SAMPLES = 1 << 20     # samples framed per FFT step (a few windows): about 30 MiB of scratch at most


def embedding_support(session) -> tuple[int | None, str]:
    """``(dim, "")`` when an ONNX Runtime session answers an ``embedding`` ``[batch, dim]`` as the
    contract says; else ``(None, why not)`` (the model still classifies)."""
    found = [o for o in session.get_outputs()[1:] if o.name == EMBEDDING_NAME]
    if not found:
        return None, "the model has no 'embedding' output (exported before embeddings were in the contract)"
    shape = list(found[0].shape)
    if (found[0].type != "tensor(float)" or len(shape) != 2 or not isinstance(shape[1], int)
            or not 1 <= shape[1] <= MAX_DIM):
        return None, f"its '{EMBEDDING_NAME}' output is {found[0].type} {shape}, not float32 [batch, dim]"
    return int(shape[1]), ""


def check_embeddings(values: np.ndarray, batch: int, dim: int, source: str) -> str | None:
    """None when ``values`` are finite ``[batch, dim]``; else what is wrong, for a message."""
    if values.shape != (batch, dim):
        return f"{source}: the model answered an embedding of shape {list(values.shape)}, not [{batch}, {dim}]"
    if not np.isfinite(values).all():
        return f"{source}: the model answered NaN or infinite embedding values"
    return None


def band_statistics(waveforms: np.ndarray, sample_rate_hz: int, *, n_mels: int = FALLBACK_N_MELS,
                    n_fft: int = FALLBACK_N_FFT) -> np.ndarray:
    """The fallback embedding: ``[batch, 2 * n_mels]`` float32, each log-mel band's mean (dB)
    then its standard deviation over frames, of ``[batch, n_samples]`` windows."""
    mel_db = _log_mel(waveforms, sample_rate_hz, n_mels, n_fft)
    return np.concatenate([mel_db.mean(axis=1), mel_db.std(axis=1)], axis=1).astype(np.float32)


PROFILE_STATISTICS = 7


def band_profile(waveforms: np.ndarray, sample_rate_hz: int, *, n_mels: int = FALLBACK_N_MELS,
                 n_fft: int = FALLBACK_N_FFT) -> np.ndarray:
    """``[batch, 7 * n_mels]`` float32 of ``[batch, n_samples]`` windows: per log-mel band (dB), the
    mean and standard deviation over frames, the 10th, 50th and 90th percentiles, the maximum (a
    short sound in a long window moves it where the mean barely moves), and the mean absolute change
    from one frame to the next (how the band flickers), in blocks of ``n_mels``."""
    mel_db = _log_mel(waveforms, sample_rate_hz, n_mels, n_fft)                   # [b, frames, n_mels]
    low, middle, high = np.percentile(mel_db, [10, 50, 90], axis=1)
    change = np.abs(np.diff(mel_db, axis=1)).mean(axis=1) if mel_db.shape[1] > 1 else np.zeros_like(low)
    return np.concatenate([mel_db.mean(axis=1), mel_db.std(axis=1), low, middle, high, mel_db.max(axis=1), change],
                          axis=1).astype(np.float32)


def join_parts(*parts: np.ndarray) -> np.ndarray:
    """``[batch, sum of dims]`` float32: each part's rows scaled to unit length, side by side, and the
    whole row scaled to unit length again (each part then weighs the same in a cosine)."""
    return _unit(np.concatenate([_unit(p) for p in parts], axis=1))


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _log_mel(waveforms: np.ndarray, sample_rate_hz: int, n_mels: int, n_fft: int) -> np.ndarray:
    """``[batch, frames, n_mels]`` log-mel power (dB) of ``[batch, n_samples]`` windows."""
    waveforms = np.atleast_2d(np.asarray(waveforms, dtype=np.float32))
    n_fft = int(min(n_fft, max(16, 1 << int(np.log2(max(16, waveforms.shape[1]))))))
    hop = n_fft // 4
    fb = mel_filterbank(sample_rate_hz, n_fft, n_mels).astype(np.float32)   # [n_mels, bins]
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    padded = np.pad(waveforms, ((0, 0), (n_fft // 2, n_fft // 2)))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=1)[:, ::hop]   # [b, f, n_fft], a view
    per_step = max(1, _FFT_SAMPLES // (frames.shape[1] * n_fft))      # windows per FFT: bounded scratch memory
    out = np.empty((frames.shape[0], frames.shape[1], n_mels), dtype=np.float32)
    for first in range(0, len(frames), per_step):
        power = np.abs(np.fft.rfft(frames[first:first + per_step] * window, axis=-1)) ** 2   # [k, f, bins]
        out[first:first + per_step] = 10.0 * np.log10(np.maximum(_AMIN, power @ fb.T))    # [k, f, n_mels]
    return out
