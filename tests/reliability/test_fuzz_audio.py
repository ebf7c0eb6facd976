"""Hostile audio: random bytes, damaged headers, absurd sizes, NaN/Inf, empty and multi-hour files.

Every case must end in :class:`AudioLoadError` naming the file, or in a correct result:
mono finite float32 at a plausible rate. No other exception, no hang (a per-example
deadline), and memory bounded by the mono result (tracemalloc sees numpy's buffers).
"""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.audio.io import (
    MAX_DECODED_SAMPLES,
    MAX_SAMPLE_RATE_HZ,
    MIN_SAMPLE_RATE_HZ,
    load_audio,
)
from engine.errors import AudioLoadError

from .support import FUZZ, encode, sine, wav_header

pytestmark = pytest.mark.timeout(120)

SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".bin")


def load_or_refuse(path, sample_rate_hz=None, **kwargs):
    """Load ``path``; an AudioLoadError must name it; a result must be sound. Returns Audio or None."""
    try:
        audio = load_audio(path, sample_rate_hz, **kwargs)
    except AudioLoadError as exc:
        assert str(path) in str(exc), f"error does not name the file: {exc}"
        return None
    samples = audio.samples
    assert samples.dtype == np.float32 and samples.ndim == 1 and len(samples) >= 2
    assert np.isfinite(samples).all()
    assert MIN_SAMPLE_RATE_HZ <= audio.sample_rate_hz <= MAX_SAMPLE_RATE_HZ
    if sample_rate_hz is not None:
        assert audio.sample_rate_hz == sample_rate_hz
    return audio


def _base_clip(kind: str) -> bytes:
    if kind == "wav16":
        return encode(sine(800, 8000), 8000)
    if kind == "wav_float_stereo":
        return encode(sine(600, 16000, channels=2), 16000, subtype="FLOAT")
    if kind == "flac":
        return encode(sine(800, 8000), 8000, fmt="FLAC")
    return encode(sine(4000, 8000), 8000, fmt="OGG", subtype="VORBIS")


BASES = {k: _base_clip(k) for k in ("wav16", "wav_float_stereo", "flac", "ogg")}
SUFFIX_OF = {"wav16": ".wav", "wav_float_stereo": ".wav", "flac": ".flac", "ogg": ".ogg"}


@FUZZ
@given(data=st.binary(min_size=0, max_size=4096), suffix=st.sampled_from(SUFFIXES),
       rate=st.sampled_from([None, 16000]))
def test_random_bytes(tmp_path, data, suffix, rate):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    load_or_refuse(path, rate)


@FUZZ
@given(kind=st.sampled_from(sorted(BASES)),
       flips=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=8),
       cut=st.one_of(st.none(), st.integers(0, 2000)),
       rate=st.sampled_from([None, 16000]))
def test_mutated_real_files(tmp_path, kind, flips, cut, rate):
    """Real WAV/FLAC/OGG with bytes overwritten (mostly in the header) and/or truncated."""
    data = bytearray(BASES[kind])
    for offset, value in flips:
        if offset < len(data):
            data[offset] = value
    if cut is not None:
        data = data[:cut]
    path = tmp_path / f"mutated{SUFFIX_OF[kind]}"
    path.write_bytes(bytes(data))
    load_or_refuse(path, rate)


ABSURD_U32 = st.one_of(st.sampled_from([0, 1, 2, 7, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]),
                       st.integers(0, 0xFFFFFFFF))


@FUZZ
@given(rate=st.one_of(st.sampled_from([0, 1, 999, 8000, 768_001]), ABSURD_U32),
       channels=st.one_of(st.sampled_from([0, 1, 2, 257, 1024, 65535]), st.integers(0, 0xFFFF)),
       bits=st.sampled_from([0, 1, 8, 12, 16, 24, 32, 64, 65535]),
       fmt_tag=st.sampled_from([1, 3, 0, 2, 0xFFFE, 0x1234]),
       n_data=ABSURD_U32, riff=st.one_of(st.none(), ABSURD_U32),
       payload=st.integers(0, 4000))
def test_absurd_wav_header_fields(tmp_path, rate, channels, bits, fmt_tag, n_data, riff, payload):
    """Sample rate, channel count, bit depth, format and sizes straight from a fuzzer into the header."""
    header = wav_header(sample_rate_hz=rate, channels=channels, bits=bits, n_data_bytes=n_data,
                        fmt_tag=fmt_tag, riff_bytes=riff)
    body = np.random.default_rng(payload).integers(-2000, 2000, payload, dtype=np.int16).tobytes()
    path = tmp_path / "absurd.wav"
    path.write_bytes(header + body)
    load_or_refuse(path)


@FUZZ
@given(n=st.integers(2, 4000), bad=st.lists(st.tuples(st.integers(0, 3999), st.sampled_from(
    [np.nan, np.inf, -np.inf])), min_size=1, max_size=5), subtype=st.sampled_from(["FLOAT", "DOUBLE"]))
def test_nan_and_inf_samples_are_refused(tmp_path, n, bad, subtype):
    samples = sine(n, 8000).astype(np.float64)
    for index, value in bad:
        samples[index % n] = value
    path = tmp_path / "nan.wav"
    path.write_bytes(encode(samples, 8000, subtype=subtype))
    with pytest.raises(AudioLoadError, match="NaN or infinite") as info:
        load_audio(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("n_samples", [0, 1])
def test_zero_length_and_one_sample(tmp_path, n_samples):
    path = tmp_path / "short.wav"
    path.write_bytes(encode(np.zeros(n_samples, np.float32), 8000))
    with pytest.raises(AudioLoadError, match="no audio|only 1 sample") as info:
        load_audio(path)
    assert str(path) in str(info.value)
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    with pytest.raises(AudioLoadError, match="empty"):
        load_audio(empty)


def test_valid_file_survives_round_trip_exactly(tmp_path):
    """The control: an undamaged file gives the right samples (not merely 'no crash')."""
    path = tmp_path / "good.wav"
    clip = sine(8000, 8000)
    path.write_bytes(encode(clip, 8000, subtype="FLOAT"))
    assert np.array_equal(load_audio(path).samples, clip)


def _sparse_wav(path, *, seconds: float, sample_rate_hz: int, channels: int) -> int:
    """A real WAV of silence that claims (and has, sparsely) ``seconds`` of 16-bit audio."""
    frames = int(seconds * sample_rate_hz)
    n_data = frames * channels * 2
    with open(path, "wb") as handle:
        handle.write(wav_header(sample_rate_hz=sample_rate_hz, channels=channels, bits=16, n_data_bytes=n_data))
        handle.truncate(44 + n_data)
    return frames


def test_multi_hour_file_is_refused_before_decoding(tmp_path):
    """Five hours at 48 kHz stereo (a sparse 3.5 GB file): refused from the header, instantly."""
    path = tmp_path / "five_hours.wav"
    _sparse_wav(path, seconds=5 * 3600, sample_rate_hz=48000, channels=2)
    tracemalloc.start()
    try:
        with pytest.raises(AudioLoadError, match="longer than") as info:
            load_audio(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value)
    assert peak < 8 * 2**20


def test_header_claiming_hours_with_little_data(tmp_path):
    """A header that claims 4 GiB of data on a 1 KiB file reads what is there (or refuses): no huge buffer."""
    path = tmp_path / "liar.wav"
    path.write_bytes(wav_header(sample_rate_hz=8000, channels=1, bits=16, n_data_bytes=0xFFFFFFF0)
                     + sine(512, 8000).astype("<f4").view("<i2")[:512].tobytes())
    tracemalloc.start()
    try:
        audio = load_or_refuse(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert audio is None or len(audio.samples) <= 512
    assert peak < 8 * 2**20


def test_long_file_streams_in_bounded_memory(tmp_path):
    """Five minutes of 44.1 kHz stereo decodes with memory ~ the mono result, not the decoded stereo."""
    path = tmp_path / "five_minutes.wav"
    frames = _sparse_wav(path, seconds=300, sample_rate_hz=44100, channels=2)
    result_bytes = frames * 4
    tracemalloc.start()
    try:
        audio = load_audio(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(audio.samples) == frames and not audio.samples.any()
    # the old whole-file read peaked at ~3x the result (stereo float32 plus the mix-down)
    assert peak < result_bytes + 24 * 2**20, f"peak {peak / 2**20:.0f} MiB for a {result_bytes / 2**20:.0f} MiB result"


def test_resampling_cannot_blow_up_memory(tmp_path):
    """A low-rate file resampled far up is refused when the result would pass the decode bound."""
    path = tmp_path / "upsample.wav"
    rate = MIN_SAMPLE_RATE_HZ
    frames = MAX_DECODED_SAMPLES // 700  # fine at the file rate, too big at 768 kHz
    with open(path, "wb") as handle:
        handle.write(wav_header(sample_rate_hz=rate, channels=1, bits=16, n_data_bytes=frames * 2))
        handle.truncate(44 + frames * 2)
    with pytest.raises(AudioLoadError, match="MiB of audio") as info:
        load_audio(path, MAX_SAMPLE_RATE_HZ)
    assert str(path) in str(info.value)


def test_fuzzed_header_struct_is_canonical():
    """The helper itself: an undamaged header built by wav_header reads back correctly."""
    header = wav_header(sample_rate_hz=8000, channels=1, bits=16, n_data_bytes=4)
    assert len(header) == 44 and struct.unpack("<I", header[24:28])[0] == 8000


def _flac_without_length(samples: np.ndarray) -> bytes:
    """A FLAC whose STREAMINFO total-samples field is 0 ("unknown"), as a killed recorder leaves it."""
    data = bytearray(encode(samples, 8000, fmt="FLAC"))
    assert data[:4] == b"fLaC"
    packed = int.from_bytes(data[18:26], "big") & ~((1 << 36) - 1)
    data[18:26] = packed.to_bytes(8, "big")
    return bytes(data)


def test_flac_of_unknown_length_is_decoded_to_its_end(tmp_path):
    clip = sine(20000, 8000)
    path = tmp_path / "unknown.flac"
    path.write_bytes(_flac_without_length(clip))
    audio = load_audio(path)
    assert len(clip) - 1 <= len(audio.samples) <= len(clip)  # libsndfile cannot hand over the very last one
    np.testing.assert_allclose(audio.samples, clip[: len(audio.samples)], atol=1e-4)


def test_flac_of_unknown_length_is_bounded_while_decoding(tmp_path):
    path = tmp_path / "unknown_long.flac"
    path.write_bytes(_flac_without_length(sine(8000 * 4, 8000)))
    with pytest.raises(AudioLoadError, match="longer than the 1 s") as info:
        load_audio(path, max_s=1.0)
    assert str(path) in str(info.value)


@FUZZ
@given(cut=st.integers(100, 30000))
def test_truncated_flac_of_unknown_length_keeps_its_decodable_start(tmp_path, cut):
    clip = sine(20000, 8000)
    path = tmp_path / "cut.flac"
    path.write_bytes(_flac_without_length(clip)[:cut])
    audio = load_or_refuse(path)
    if audio is not None:
        np.testing.assert_allclose(audio.samples, clip[: len(audio.samples)], atol=1e-4)
