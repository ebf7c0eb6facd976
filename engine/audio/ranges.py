"""What a view of a long recording shows for a time range, at screen resolution (Qt-free).

:func:`compute_range` returns, for ``n_columns`` pixel columns between ``start_s`` and
``end_s``, a min/max waveform envelope and a dB spectrogram column per pixel. Work and
memory depend on the number of columns, not on the length of the range:

- a range whose columns lie closer than two FFT frames is read in one piece and every
  column gets its own frame (exact, overlapping frames);
- a wider range (a whole four-hour file) reads ``frames_per_column`` short frames inside
  each column by seek and averages their power; its envelope is exact up to
  ``EXACT_ENVELOPE_FRAMES`` frames and sampled beyond.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.audio.long import LongAudio
from engine.audio.mel import hz_to_mel, mel_to_hz
from engine.audio.spectrogram import FFT_SIZES, window_of

DB_FLOOR = -120.0
EXACT_ENVELOPE_FRAMES = 8_000_000  # ~3 min at 44.1 kHz: read every frame below this span
N_FFT_CHOICES = FFT_SIZES


@dataclass(frozen=True)
class RangeData:
    start_s: float
    end_s: float
    mins: np.ndarray          # [n_columns] waveform envelope
    maxs: np.ndarray
    db: np.ndarray            # [n_columns, n_fft // 2 + 1], dB re full scale
    max_freq_hz: float
    n_fft: int
    exact: bool               # every frame of the range was read
    window: str = "hann"

    @property
    def n_columns(self) -> int:
        return int(self.db.shape[0])

    @property
    def column_s(self) -> float:
        return (self.end_s - self.start_s) / max(self.n_columns, 1)

    def freqs_hz(self) -> np.ndarray:
        return np.linspace(0.0, self.max_freq_hz, self.db.shape[1])


LOG_LOW_HZ = 20.0  # a log axis starts here (nothing below is drawn)


def hz_to_log(hz):
    """Octaves above :data:`LOG_LOW_HZ` (a log frequency axis); lower frequencies read 0."""
    return np.log2(np.maximum(np.asarray(hz, dtype=np.float64), LOG_LOW_HZ) / LOG_LOW_HZ)


def log_to_hz(octaves):
    return LOG_LOW_HZ * 2.0 ** np.asarray(octaves, dtype=np.float64)


def mel_rows(db: np.ndarray, max_freq_hz: float, n_rows: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """``db`` [columns, linear bins] resampled to ``n_rows`` rows equally spaced in mel (see
    :func:`scaled_rows`)."""
    return scaled_rows(db, max_freq_hz, n_rows, hz_to_mel, mel_to_hz)


def scaled_rows(db: np.ndarray, max_freq_hz: float, n_rows: int, forward, inverse) -> tuple[np.ndarray, np.ndarray]:
    """``db`` [columns, linear bins] resampled to ``n_rows`` rows equally spaced on a scale
    (``forward``: Hz to the scale, ``inverse`` back: mel, or octaves for a log axis).

    Each row is the loudest bin between its neighbours' centres (so a narrow tone is never
    lost between rows at high frequencies) or, where rows are closer than bins, the
    interpolated level. Returns the image and each row's centre frequency (Hz).
    """
    n_bins = db.shape[1]
    centres_hz = inverse(np.linspace(float(forward(0.0)), float(forward(max_freq_hz)), n_rows))
    bins = centres_hz / max_freq_hz * (n_bins - 1)
    out = np.empty((db.shape[0], n_rows), dtype=np.float32)
    edges = np.concatenate([[0.0], (bins[1:] + bins[:-1]) / 2, [n_bins - 1.0]])
    for i in range(n_rows):
        lo, hi = int(np.ceil(edges[i])), int(np.floor(edges[i + 1]))
        if hi >= lo:
            out[:, i] = db[:, lo:hi + 1].max(axis=1)
        else:
            k = min(int(bins[i]), n_bins - 2)
            frac = bins[i] - k
            out[:, i] = (1 - frac) * db[:, k] + frac * db[:, k + 1]
    return out, centres_hz


def _power(frames: np.ndarray, window: np.ndarray) -> np.ndarray:
    return np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2


def _db(power: np.ndarray) -> np.ndarray:
    return np.maximum(10.0 * np.log10(power + 1e-24), DB_FLOOR).astype(np.float32)


def compute_range(audio: LongAudio, start_s: float, end_s: float, n_columns: int, *, n_fft: int = 1024,
                  frames_per_column: int = 3, window: str = "hann", hop_length: int | None = None) -> RangeData:
    """Envelope and spectrogram of ``start_s .. end_s`` (clamped to the file) in ``n_columns`` columns.

    With ``hop_length``, a column closer to its neighbour than that takes the frame on the grid of
    frames ``hop_length`` apart nearest its centre (the overlap the person chose: several pixels
    then show one frame); without, every column gets a frame of its own."""
    start_s = max(0.0, min(start_s, audio.duration_s))
    end_s = max(start_s + 1.0 / audio.sample_rate_hz, min(end_s, audio.duration_s))
    n_columns = max(1, int(n_columns))
    first, last = start_s * audio.sample_rate_hz, end_s * audio.sample_rate_hz
    hop = (last - first) / n_columns
    centres = first + (np.arange(n_columns) + 0.5) * hop
    weights = window_of(n_fft, window)
    dense = hop <= 2 * n_fft
    if dense and hop_length and hop < hop_length:
        centres = np.round(centres / hop_length) * hop_length
    if dense:
        lo = int(np.floor(centres[0])) - n_fft // 2
        block = _read_padded(audio, lo, int(np.ceil(centres[-1])) + n_fft // 2 + 1 - lo)
        idx = np.round(centres).astype(np.int64) - n_fft // 2 - lo
        frames = np.lib.stride_tricks.sliding_window_view(block, n_fft)[idx]
        db = _db(_power(frames, weights))
    else:
        power = np.zeros((n_columns, n_fft // 2 + 1), dtype=np.float64)
        offsets = (np.arange(frames_per_column) + 0.5) / frames_per_column - 0.5  # spread inside the column
        for k in offsets:
            starts = np.round(centres + k * hop).astype(np.int64) - n_fft // 2
            frames = np.stack([_read_padded(audio, int(s), n_fft) for s in starts])
            power += _power(frames, weights)
        db = _db(power / frames_per_column)
    exact = (last - first) <= EXACT_ENVELOPE_FRAMES
    env = audio.overview(n_columns, start_s=start_s, end_s=end_s, sampled=not exact)
    mins, maxs = _fit(env.mins, n_columns), _fit(env.maxs, n_columns)
    return RangeData(start_s, end_s, mins, maxs, db, audio.sample_rate_hz / 2.0, n_fft, exact and dense,
                     window)


def _read_padded(audio: LongAudio, first: int, count: int) -> np.ndarray:
    """``count`` mono frames from ``first``, zeros outside the file."""
    out = np.zeros(count, dtype=np.float32)
    lo, hi = max(first, 0), min(first + count, audio.frames)
    if hi > lo:
        data = audio.read_frames(lo, hi - lo)
        out[lo - first:lo - first + len(data)] = data
    return out


def _fit(values: np.ndarray, n: int) -> np.ndarray:
    """An envelope of fewer bins than columns (a range shorter than ``n`` frames), stretched to ``n``."""
    if len(values) == n:
        return values
    return values[np.minimum((np.arange(n) * len(values)) // n, len(values) - 1)]
