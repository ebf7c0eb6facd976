"""Spectrograms for display only (the model computes its own features inside the ONNX graph).

:func:`spectrogram_db` turns a clip into a dB magnitude image; :class:`StreamingSpectrogram`
produces the same columns incrementally from a live stream without recomputing the past.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DB_FLOOR = -120.0


@dataclass(frozen=True)
class Spectrogram:
    db: np.ndarray          # float32 [n_frames, n_freqs], dB re full scale, time-major for ImageItem
    times_s: np.ndarray     # centre of each frame
    freqs_hz: np.ndarray
    hop_s: float

    @property
    def max_freq_hz(self) -> float:
        return float(self.freqs_hz[-1]) if self.freqs_hz.size else 0.0


def _window(n_fft: int) -> np.ndarray:
    win = np.hanning(n_fft + 1)[:-1].astype(np.float32)  # periodic Hann
    return win / win.sum() * 2.0  # a full-scale sine reads about 0 dB


def _frames_db(frames: np.ndarray, window: np.ndarray) -> np.ndarray:
    spectrum = np.abs(np.fft.rfft(frames * window, axis=-1))
    return np.maximum(20.0 * np.log10(spectrum + 1e-12), DB_FLOOR).astype(np.float32)


def spectrogram_db(samples: np.ndarray, sample_rate_hz: int, *, n_fft: int = 512,
                   hop_length: int | None = None) -> Spectrogram:
    """dB magnitude STFT (Hann, frames centred by zero padding), shape [frames, n_fft//2+1]."""
    hop = hop_length or n_fft // 4
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    padded = np.pad(x, (n_fft // 2, n_fft // 2))
    if padded.size < n_fft:
        padded = np.pad(padded, (0, n_fft - padded.size))
    n_frames = 1 + (padded.size - n_fft) // hop
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:n_frames]
    db = _frames_db(frames, _window(n_fft))
    times = np.arange(n_frames) * hop / sample_rate_hz
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate_hz)
    return Spectrogram(db, times, freqs, hop / sample_rate_hz)


class StreamingSpectrogram:
    """Columns for newly arrived samples; keeps the tail it needs for the next frame."""

    def __init__(self, sample_rate_hz: int, *, n_fft: int = 512, hop_length: int | None = None) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.n_fft = n_fft
        self.hop_length = hop_length or n_fft // 2
        self._window = _window(n_fft)
        self._pending = np.zeros(0, dtype=np.float32)
        self.freqs_hz = np.fft.rfftfreq(n_fft, 1.0 / sample_rate_hz)

    @property
    def n_freqs(self) -> int:
        return self.n_fft // 2 + 1

    def reset(self) -> None:
        self._pending = np.zeros(0, dtype=np.float32)

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Add samples; return the finished columns as [n_new_frames, n_freqs] dB."""
        data = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32).reshape(-1)])
        if data.size < self.n_fft:
            self._pending = data
            return np.zeros((0, self.n_freqs), dtype=np.float32)
        n_frames = 1 + (data.size - self.n_fft) // self.hop_length
        frames = np.lib.stride_tricks.sliding_window_view(data, self.n_fft)[::self.hop_length][:n_frames]
        self._pending = data[n_frames * self.hop_length:]
        return _frames_db(frames, self._window)
