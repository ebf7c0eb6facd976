"""Audio in and out: decode any WAV/FLAC/OGG to mono float32, resample with soxr, save atomically."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from engine.atomic import atomic_write_with
from engine.errors import AudioLoadError, SaveError

MIN_SAMPLE_RATE_HZ = 1_000
MAX_SAMPLE_RATE_HZ = 768_000
MAX_CHANNELS = 256
DEFAULT_MAX_S = 4 * 3600.0  # a bound on decoded size: longer files are refused, not loaded
UNKNOWN_FRAMES = 1 << 62  # libsndfile's frame count for a stream whose length was never written
MAX_DECODED_SAMPLES = 1 << 27  # 128 Mi mono float32 samples = 512 MiB, before and after resampling
_BLOCK_SAMPLES = 1 << 20  # decode this many (frames x channels) at a time: bounded scratch memory
_DECODE_ERRORS = (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OverflowError, MemoryError, OSError)


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

    Decodes block by block (mixing down as it goes), so memory is bounded by the mono
    result, itself bounded by ``max_s`` and :data:`MAX_DECODED_SAMPLES`.
    Raises :class:`AudioLoadError` whose message names the file and what is wrong.
    """
    path = Path(path)
    info = _probe(path)
    limit = _check_header(path, info, sample_rate_hz, max_s)
    samples = _decode_mono(path, info, limit)
    if len(samples) < min_samples:
        raise AudioLoadError(
            f"{path}: only {len(samples)} sample(s); a clip needs at least {min_samples}"
        )
    file_rate_hz = int(info.samplerate)
    if sample_rate_hz is not None and sample_rate_hz != file_rate_hz:
        samples = resample(samples, file_rate_hz, sample_rate_hz)
        file_rate_hz = sample_rate_hz
    return Audio(np.ascontiguousarray(samples, dtype=np.float32), int(file_rate_hz), path)


def _check_header(path: Path, info, sample_rate_hz: int | None, max_s: float | None) -> int:
    """Refuse implausible headers; return the most frames this may decode."""
    rate = info.samplerate
    if not MIN_SAMPLE_RATE_HZ <= rate <= MAX_SAMPLE_RATE_HZ:
        raise AudioLoadError(
            f"{path}: implausible sample rate {rate} Hz "
            f"(expected {MIN_SAMPLE_RATE_HZ} to {MAX_SAMPLE_RATE_HZ} Hz); the header may be damaged"
        )
    if not 1 <= info.channels <= MAX_CHANNELS:
        raise AudioLoadError(f"{path}: implausible channel count {info.channels} (at most {MAX_CHANNELS})")
    if info.frames <= 0:
        raise AudioLoadError(f"{path}: the file holds no audio (0 samples)")
    out_rate = sample_rate_hz or rate
    limit = int(min(MAX_DECODED_SAMPLES, MAX_DECODED_SAMPLES * rate / out_rate))
    if max_s is not None:
        limit = min(limit, int(max_s * rate))
    if info.frames >= UNKNOWN_FRAMES:  # a stream that never got its length (a killed FLAC recording)
        return limit
    if max_s is not None and info.frames > max_s * rate:
        raise AudioLoadError(_too_long(path, info.frames / rate, max_s))
    if info.frames > limit:
        raise AudioLoadError(
            f"{path}: {info.frames / rate:.0f} s at {out_rate} Hz is more than the "
            f"{MAX_DECODED_SAMPLES * 4 >> 20} MiB of audio this reads at once; split the file"
        )
    return limit


def _too_long(path: Path, seconds: float, max_s: float) -> str:
    return f"{path}: {seconds:.0f} s is longer than the {max_s:.0f} s this reads at once"


def _decode_mono(path: Path, info, limit: int) -> np.ndarray:
    """Decode block by block (mono mix-down per block); at most ``limit`` frames, else refuse."""
    known = info.frames < UNKNOWN_FRAMES
    out = np.empty(info.frames if known else 0, dtype=np.float32)
    blocks: list[np.ndarray] = []  # unknown length: collected, then joined
    n = 0
    block_frames = max(1, (_BLOCK_SAMPLES if known else 4096) // info.channels)
    try:
        with sf.SoundFile(path) as handle:
            while not known or n < len(out):
                want = min(block_frames, len(out) - n) if known else block_frames
                try:
                    block = handle.read(want, dtype="float32", always_2d=True)
                except _DECODE_ERRORS:
                    if known:
                        raise
                    # libsndfile errors at the end of a stream without a length (a killed FLAC
                    # recording): keep every frame that still decodes
                    block = _decodable_tail(path, n, want)
                    if len(block) == 0:
                        if not blocks:
                            raise
                        break
                if len(block) == 0:
                    break
                if not np.isfinite(block).all():
                    raise AudioLoadError(f"{path}: the audio contains NaN or infinite samples")
                mono = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
                if known:
                    out[n : n + len(mono)] = mono
                else:
                    blocks.append(np.array(mono, dtype=np.float32))
                n += len(mono)
                if n > limit:
                    raise AudioLoadError(_too_long(path, n / info.samplerate, limit / info.samplerate))
    except _DECODE_ERRORS as exc:
        raise AudioLoadError(f"{path}: cannot decode audio ({_first_line(exc)})") from exc
    if not known:
        return np.concatenate(blocks) if blocks else out
    return out[:n] if n < len(out) else out


def _decodable_tail(path: Path, start: int, most: int) -> np.ndarray:
    """The longest run of frames from ``start`` (fewer than ``most``) that decodes without error."""
    def attempt(count: int) -> np.ndarray | None:
        try:
            with sf.SoundFile(path) as handle:
                handle.seek(start)
                return handle.read(count, dtype="float32", always_2d=True)
        except _DECODE_ERRORS:
            return None

    low, high, best = 1, most - 1, np.zeros((0, 1), dtype=np.float32)
    while low <= high:  # about log2(most) attempts, only on this rare path
        mid = (low + high) // 2
        got = attempt(mid)
        if got is None:
            high = mid - 1
        else:
            best, low = got, mid + 1
    return best


def _probe(path: Path) -> sf._SoundFileInfo:
    try:
        if not path.exists():
            raise AudioLoadError(f"{path}: no such file")
        if path.is_dir():
            raise AudioLoadError(f"{path}: is a folder, not an audio file")
        if path.stat().st_size == 0:
            raise AudioLoadError(f"{path}: the file is empty (0 bytes)")
        return sf.info(path)
    except _DECODE_ERRORS as exc:
        raise AudioLoadError(
            f"{path}: not a readable audio file (WAV, FLAC or OGG expected): {_first_line(exc)}"
        ) from exc


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


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
    try:
        atomic_write_with(
            path, lambda tmp: sf.write(tmp, np.asarray(samples), sample_rate_hz, format=fmt, subtype=subtype)
        )
    except sf.LibsndfileError as exc:  # not an OSError: an unwritable temp file, a full disk
        raise SaveError(f"Cannot write {path}: {_first_line(exc)}. The previous version was kept.") from exc


def rms_dbfs(samples: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    return 20.0 * np.log10(max(rms, 1e-10))


def is_silent(samples: np.ndarray, threshold_dbfs: float = -60.0) -> bool:
    return rms_dbfs(samples) < threshold_dbfs
