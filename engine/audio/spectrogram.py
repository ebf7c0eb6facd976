"""Spectrograms for display only (the model computes its own features inside the ONNX graph).

:func:`spectrogram_db` turns a clip into a dB magnitude image; :class:`StreamingSpectrogram`
produces the same columns incrementally from a live stream without recomputing the past.
:class:`SpectrogramSettings` is the person's choice of FFT size, window and overlap, shared by
the File, Annotate and Audit tabs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DB_FLOOR = -120.0
FFT_SIZES = (256, 512, 1024, 2048, 4096)
WINDOWS = ("hann", "hamming", "blackman")
OVERLAPS = (0.5, 0.75, 0.875)
_WINDOW_FUNCTIONS = {"hann": np.hanning, "hamming": np.hamming, "blackman": np.blackman}


@dataclass(frozen=True)
class SpectrogramSettings:
    """FFT size (frequency against time resolution), window (leakage against width of a peak) and
    overlap of successive frames (smoothness in time); refused when not one of the offered values,
    so a hand-edited settings file cannot ask for a 3-sample FFT."""

    n_fft: int = 1024
    window: str = "hann"
    overlap: float = 0.75

    def __post_init__(self) -> None:
        if self.n_fft not in FFT_SIZES:
            raise ValueError(f"FFT size {self.n_fft!r} is not one of {', '.join(map(str, FFT_SIZES))}")
        if self.window not in WINDOWS:
            raise ValueError(f"window {self.window!r} is not one of {', '.join(WINDOWS)}")
        if self.overlap not in OVERLAPS:
            raise ValueError(f"overlap {self.overlap!r} is not one of {', '.join(f'{o:g}' for o in OVERLAPS)}")

    def hop_length(self) -> int:
        """Samples between frame starts: ``n_fft * (1 - overlap)``."""
        return int(round(self.n_fft * (1.0 - self.overlap)))


@dataclass(frozen=True)
class Spectrogram:
    db: np.ndarray          # float32 [n_frames, n_freqs], dB re full scale, time-major for ImageItem
    times_s: np.ndarray     # centre of each frame
    freqs_hz: np.ndarray
    hop_s: float

    @property
    def max_freq_hz(self) -> float:
        return float(self.freqs_hz[-1]) if self.freqs_hz.size else 0.0


def window_of(n_fft: int, name: str = "hann") -> np.ndarray:
    """A periodic window scaled so that a full-scale sine reads about 0 dB whatever its shape."""
    if name not in _WINDOW_FUNCTIONS:
        raise ValueError(f"window {name!r} is not one of {', '.join(WINDOWS)}")
    win = _WINDOW_FUNCTIONS[name](n_fft + 1)[:-1].astype(np.float32)
    return win / win.sum() * 2.0


def _frames_db(frames: np.ndarray, window: np.ndarray) -> np.ndarray:
    spectrum = np.abs(np.fft.rfft(frames * window, axis=-1))
    return np.maximum(20.0 * np.log10(spectrum + 1e-12), DB_FLOOR).astype(np.float32)


def spectrogram_db(samples: np.ndarray, sample_rate_hz: int, *, n_fft: int = 512,
                   hop_length: int | None = None, window: str = "hann") -> Spectrogram:
    """dB magnitude STFT (frames centred by zero padding), shape [frames, n_fft//2+1]."""
    hop = hop_length or n_fft // 4
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    padded = np.pad(x, (n_fft // 2, n_fft // 2))
    if padded.size < n_fft:
        padded = np.pad(padded, (0, n_fft - padded.size))
    n_frames = 1 + (padded.size - n_fft) // hop
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:n_frames]
    db = _frames_db(frames, window_of(n_fft, window))
    times = np.arange(n_frames) * hop / sample_rate_hz
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate_hz)
    return Spectrogram(db, times, freqs, hop / sample_rate_hz)


def spectrogram_with(samples: np.ndarray, sample_rate_hz: int, settings: SpectrogramSettings, *,
                     max_columns: int | None = None) -> Spectrogram:
    """:func:`spectrogram_db` as ``settings`` ask; with ``max_columns`` the hop grows on a long clip so
    that the image stays at most about that wide (a drawing, not an analysis)."""
    hop = settings.hop_length()
    if max_columns:
        hop = max(hop, int(np.ceil(np.asarray(samples).size / max_columns)))
    return spectrogram_db(samples, sample_rate_hz, n_fft=settings.n_fft, hop_length=hop, window=settings.window)


class StreamingSpectrogram:
    """Columns for newly arrived samples; keeps the tail it needs for the next frame."""

    def __init__(self, sample_rate_hz: int, *, n_fft: int = 512, hop_length: int | None = None) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.n_fft = n_fft
        self.hop_length = hop_length or n_fft // 2
        self._window = window_of(n_fft)
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
