"""Audio in and out: decode what libsndfile reads (WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF, ...) to mono
float32, resample with soxr, save atomically.

One bound on what is read at once: :data:`MAX_DECODED_SAMPLES` mono samples (512 MiB), at the
file's rate and at the rate it is resampled to, whichever is higher — about 50 minutes at
44.1 kHz (:func:`max_load_s`). A caller may ask for less with ``max_s``. File names need not
be valid UTF-8; a file that cannot be opened is refused with the reason (permission denied,
not a regular file, a symbolic link loop, ...).
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from engine.atomic import atomic_write_with
from engine.errors import AudioLoadError, SaveError, first_line

MIN_SAMPLE_RATE_HZ = 1_000
MAX_SAMPLE_RATE_HZ = 768_000
MAX_CHANNELS = 256
UNKNOWN_FRAMES = 1 << 62  # libsndfile's frame count for a stream whose length was never written
MAX_DECODED_SAMPLES = 1 << 27  # 128 Mi mono float32 samples = 512 MiB, before and after resampling
DEFAULT_MAX_S: float | None = None  # no limit of its own: MAX_DECODED_SAMPLES is the one bound
_SUFFIXES_BY_FORMAT = {
    "WAV": (".wav", ".wave"), "RF64": (".rf64",), "W64": (".w64",), "AIFF": (".aif", ".aiff", ".aifc"),
    "AU": (".au", ".snd"), "CAF": (".caf",), "FLAC": (".flac",), "OGG": (".ogg", ".oga"), "MP3": (".mp3",),
}
_FORMATS = sf.available_formats()
AUDIO_SUFFIXES = tuple(
    [suffix for fmt, suffixes in _SUFFIXES_BY_FORMAT.items() if fmt in _FORMATS for suffix in suffixes]
    + ([".opus"] if "OGG" in _FORMATS and "OPUS" in sf.available_subtypes("OGG") else [])
)  # every file name ending this decodes; data-set layouts read exactly these
_FORMAT_NAMES = ", ".join(f for f in ("WAV", "FLAC", "OGG", "Opus", "MP3", "AIFF", "AU", "CAF", "W64", "RF64")
                          if f.upper() in _FORMATS or (f == "Opus" and ".opus" in AUDIO_SUFFIXES))
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
    result, itself bounded by :data:`MAX_DECODED_SAMPLES` (see :func:`max_load_s`) and by
    ``max_s`` when given. Raises :class:`AudioLoadError` whose message names the file and
    what is wrong.
    """
    path = Path(path)
    info = _probe(path)
    limit = _check_header(path, info, sample_rate_hz, max_s)
    samples = _decode_mono(path, info, limit)
    if len(samples) < min_samples:
        raise AudioLoadError(
            f"{_shown(path)}: only {len(samples)} sample(s); a clip needs at least {min_samples}"
        )
    file_rate_hz = int(info.samplerate)
    if sample_rate_hz is not None and sample_rate_hz != file_rate_hz:
        samples = resample(samples, file_rate_hz, sample_rate_hz)
        file_rate_hz = sample_rate_hz
    return Audio(np.ascontiguousarray(samples, dtype=np.float32), int(file_rate_hz), path)


def check_header(path: str | os.PathLike, info) -> None:
    """The header limits every reader applies (:func:`load_audio`, the streaming reader
    :class:`engine.audio.long.LongAudio` behind ``--segments`` and the Annotate tab, ``clips``):
    a sample rate of 1 kHz to 768 kHz, 1 to 256 channels, and some audio. ``info`` is anything
    with ``samplerate``, ``channels`` and ``frames`` (``soundfile.info``, a ``SoundFile``)."""
    path = Path(path)
    rate = info.samplerate
    if not MIN_SAMPLE_RATE_HZ <= rate <= MAX_SAMPLE_RATE_HZ:
        raise AudioLoadError(
            f"{_shown(path)}: implausible sample rate {rate} Hz "
            f"(expected {MIN_SAMPLE_RATE_HZ} to {MAX_SAMPLE_RATE_HZ} Hz); the header may be damaged"
        )
    if not 1 <= info.channels <= MAX_CHANNELS:
        raise AudioLoadError(f"{_shown(path)}: implausible channel count {info.channels} (at most {MAX_CHANNELS})")
    if info.frames <= 0:
        raise AudioLoadError(f"{_shown(path)}: the file holds no audio (0 samples)")


def _check_header(path: Path, info, sample_rate_hz: int | None, max_s: float | None) -> int:
    """Refuse implausible headers; return the most frames this may decode."""
    check_header(path, info)
    rate = info.samplerate
    binding_hz = max(rate, sample_rate_hz or rate)  # the bound holds before and after resampling
    limit = int(max_load_s(rate, sample_rate_hz) * rate)
    if max_s is not None:
        limit = min(limit, int(max_s * rate))
    if info.frames >= UNKNOWN_FRAMES:  # a stream that never got its length (a killed FLAC recording)
        return limit
    if max_s is not None and info.frames > max_s * rate:
        raise AudioLoadError(_too_long(path, info.frames / rate, max_s))
    if info.frames > limit:
        resampled = " (the rate it is resampled to)" if binding_hz != rate else ""
        raise AudioLoadError(
            f"{_shown(path)}: {_duration(info.frames / rate)} is longer than the "
            f"{_duration(max_load_s(rate, sample_rate_hz))} this reads at once at {binding_hz} Hz{resampled} "
            f"({MAX_DECODED_SAMPLES >> 20} Mi samples, {MAX_DECODED_SAMPLES * 4 >> 20} MiB of audio); "
            "split the file"
        )
    return limit


def max_load_s(file_rate_hz: float, sample_rate_hz: float | None = None) -> float:
    """The longest file :func:`load_audio` reads at once, in seconds of the file: the one length
    limit, set by :data:`MAX_DECODED_SAMPLES` at the higher of the file's rate and the output rate."""
    return MAX_DECODED_SAMPLES / max(file_rate_hz, sample_rate_hz or file_rate_hz)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" + (f" ({seconds / 60:.1f} min)" if seconds >= 120 else "")


def _too_long(path: Path, seconds: float, max_s: float) -> str:
    return f"{_shown(path)}: {_duration(seconds)} is longer than the {_duration(max_s)} this reads at once"


def _decode_mono(path: Path, info, limit: int) -> np.ndarray:
    """Decode block by block (mono mix-down per block); at most ``limit`` frames, else refuse."""
    known = info.frames < UNKNOWN_FRAMES
    out = np.empty(info.frames if known else 0, dtype=np.float32)
    blocks: list[np.ndarray] = []  # unknown length: collected, then joined
    n = 0
    block_frames = max(1, (_BLOCK_SAMPLES if known else 4096) // info.channels)
    try:
        with sf.SoundFile(_sf_name(path)) as handle:
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
                    raise AudioLoadError(f"{_shown(path)}: the audio contains NaN or infinite samples")
                mono = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
                if known:
                    out[n : n + len(mono)] = mono
                else:
                    blocks.append(np.array(mono, dtype=np.float32))
                n += len(mono)
                if n > limit:
                    raise AudioLoadError(_too_long(path, n / info.samplerate, limit / info.samplerate))
    except _DECODE_ERRORS as exc:
        raise AudioLoadError(f"{_shown(path)}: cannot decode audio ({first_line(exc)})") from exc
    if not known:
        return np.concatenate(blocks) if blocks else out
    return out[:n] if n < len(out) else out


def _decodable_tail(path: Path, start: int, most: int) -> np.ndarray:
    """The longest run of frames from ``start`` (fewer than ``most``) that decodes without error."""
    def attempt(count: int) -> np.ndarray | None:
        try:
            with sf.SoundFile(_sf_name(path)) as handle:
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


def probe_file(path: str | os.PathLike) -> sf._SoundFileInfo:
    """The header of ``path``, after checking it is a readable regular file: every reader's first
    step, so each says "the file is empty" or "permission denied" the same way."""
    return _probe(Path(path))


def _probe(path: Path) -> sf._SoundFileInfo:
    """The header of ``path``, after checking it is a readable regular file (with the reason if not)."""
    try:
        status = os.stat(path)
    except OSError as exc:
        raise AudioLoadError(f"{_shown(path)}: {_open_problem(path, exc)}") from exc
    except ValueError as exc:  # an embedded NUL
        raise AudioLoadError(f"{_shown(path)}: not a usable file name ({exc})") from exc
    if stat.S_ISDIR(status.st_mode):
        raise AudioLoadError(f"{_shown(path)}: is a folder, not an audio file")
    if not stat.S_ISREG(status.st_mode):  # never opened: a FIFO would block, a device never end
        raise AudioLoadError(f"{_shown(path)}: not a regular file ({_file_kind(status.st_mode)}); "
                             "Earmark reads audio from ordinary files")
    if status.st_size == 0:
        raise AudioLoadError(f"{_shown(path)}: the file is empty (0 bytes)")
    try:
        os.close(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)))
    except OSError as exc:
        raise AudioLoadError(f"{_shown(path)}: {_open_problem(path, exc)}") from exc
    try:
        return sf.info(_sf_name(path))
    except _DECODE_ERRORS as exc:
        raise AudioLoadError(
            f"{_shown(path)}: not a readable audio file ({_FORMAT_NAMES} expected): {first_line(exc)}"
        ) from exc


def _open_problem(path: Path, exc: OSError) -> str:
    """What a person should read for an OSError on opening ``path``."""
    if exc.errno == errno.ENOENT:
        return "a symbolic link to a missing file" if os.path.islink(path) else "no such file"
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop (the links point back at each other); it leads to no file"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied: this user may not read the file (check its permissions)"
    if exc.errno == errno.ENOTDIR:
        return "no such file (a part of the path is not a folder)"
    if exc.errno == errno.ENAMETOOLONG:
        return "the file name is too long"
    return f"cannot open the file ({exc.strerror or exc})"


def _file_kind(mode: int) -> str:
    kinds = [(stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")]
    return next((name for test, name in kinds if test(mode)), "a special file")


def _sf_name(path: Path) -> str | bytes:
    """The name libsndfile opens: the file system's own bytes (names need not be valid UTF-8)."""
    return os.fspath(path) if sys.platform == "win32" else os.fsencode(path)


def _shown(path: Path) -> str:
    """``path`` for a message: bytes that are not UTF-8 shown as ``\\xNN`` (printable anywhere)."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    return text


def resample(samples: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """Band-limited resampling (soxr, high quality)."""
    if from_hz == to_hz:
        return np.asarray(samples, dtype=np.float32)
    return soxr.resample(np.asarray(samples, dtype=np.float32), from_hz, to_hz, quality="HQ").astype(
        np.float32, copy=False
    )


def window_starts(n_total: int, n_window: int, hop: int) -> list[int]:
    """Where the windows of a clip start: every ``hop`` samples, the last one ending at the clip's
    end, so every sample is seen; one window (padded) when the clip is no longer than a window.
    The training cache and ``OnnxClassifier.classify`` cut clips with this one rule."""
    hop = max(1, int(hop))
    starts = list(range(0, max(n_total - n_window, 0) + 1, hop))
    if n_total > n_window and starts[-1] + n_window < n_total:
        starts.append(n_total - n_window)
    return starts


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
        raise SaveError(f"Cannot write {path}: {first_line(exc)}. The previous version was kept.") from exc


def rms_dbfs(samples: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    return 20.0 * np.log10(max(rms, 1e-10))


def is_silent(samples: np.ndarray, threshold_dbfs: float = -60.0) -> bool:
    return rms_dbfs(samples) < threshold_dbfs
