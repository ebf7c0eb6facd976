"""Audio in and out: decode any WAV/FLAC/OGG to mono float32, resample with soxr, save atomically."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from engine.atomic import atomic_write_with
from engine.errors import AudioLoadError

MAX_SAMPLE_RATE_HZ = 768_000
DEFAULT_MAX_S = 4 * 3600.0  # a bound on decoded size: longer files are refused, not loaded


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # float32, mono, [n_samples], finite
    sample_rate_hz: int
    path: Path | None = None

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate_hz


def load_audio(
    path: str | os.PathLike,
    sample_rate_hz: int | None = None,
    *,
    max_s: float | None = DEFAULT_MAX_S,
    min_samples: int = 2,
) -> Audio:
    """Read ``path`` as mono float32, resampled to ``sample_rate_hz`` when given.

    Raises :class:`AudioLoadError` whose message names the file and what is wrong.
    """
    path = Path(path)
    info = _probe(path)
    if info.samplerate <= 0 or info.samplerate > MAX_SAMPLE_RATE_HZ:
        raise AudioLoadError(f"{path}: implausible sample rate {info.samplerate} Hz")
    if info.frames <= 0:
        raise AudioLoadError(f"{path}: the file holds no audio (0 samples)")
    if max_s is not None and info.frames > max_s * info.samplerate:
        raise AudioLoadError(
            f"{path}: {info.frames / info.samplerate:.0f} s is longer than the {max_s:.0f} s this reads at once"
        )
    try:
        data, file_rate_hz = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError, MemoryError) as exc:
        raise AudioLoadError(f"{path}: cannot decode audio ({exc})") from exc
    samples = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if len(samples) < min_samples:
        raise AudioLoadError(
            f"{path}: only {len(samples)} sample(s); a clip needs at least {min_samples}"
        )
    if not np.isfinite(samples).all():
        raise AudioLoadError(f"{path}: the audio contains NaN or infinite samples")
    if sample_rate_hz is not None and sample_rate_hz != file_rate_hz:
        samples = resample(samples, file_rate_hz, sample_rate_hz)
        file_rate_hz = sample_rate_hz
    return Audio(np.ascontiguousarray(samples, dtype=np.float32), int(file_rate_hz), path)


def _probe(path: Path) -> sf._SoundFileInfo:
    if not path.exists():
        raise AudioLoadError(f"{path}: no such file")
    if path.is_dir():
        raise AudioLoadError(f"{path}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioLoadError(f"{path}: the file is empty (0 bytes)")
    try:
        return sf.info(path)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise AudioLoadError(
            f"{path}: not a readable audio file (WAV, FLAC or OGG expected): {exc}"
        ) from exc


def resample(samples: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """Band-limited resampling (soxr, high quality)."""
    if from_hz == to_hz:
        return np.asarray(samples, dtype=np.float32)
    return soxr.resample(np.asarray(samples, dtype=np.float32), from_hz, to_hz, quality="HQ").astype(
        np.float32, copy=False
    )


def fit_length(samples: np.ndarray, n_samples: int) -> np.ndarray:
    """Crop the centre of a longer clip, zero-pad the end of a shorter one."""
    n = len(samples)
    if n == n_samples:
        return samples
    if n > n_samples:
        start = (n - n_samples) // 2
        return samples[start : start + n_samples]
    out = np.zeros(n_samples, dtype=np.float32)
    out[:n] = samples
    return out


def save_audio(path: str | os.PathLike, samples: np.ndarray, sample_rate_hz: int, subtype: str | None = None) -> None:
    """Write WAV or FLAC (by suffix) atomically; raises SaveError and keeps any old file on failure."""
    path = Path(path)
    fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unsupported audio format (use .wav, .flac or .ogg)")
    subtype = subtype or ("VORBIS" if fmt == "OGG" else "PCM_16")
    atomic_write_with(
        path, lambda tmp: sf.write(tmp, np.asarray(samples), sample_rate_hz, format=fmt, subtype=subtype)
    )


def rms_dbfs(samples: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    return 20.0 * np.log10(max(rms, 1e-10))


def is_silent(samples: np.ndarray, threshold_dbfs: float = -60.0) -> bool:
    return rms_dbfs(samples) < threshold_dbfs
