import numpy as np
import pytest
import soundfile as sf

from engine.audio.io import fit_length, is_silent, load_audio, resample, save_audio
from engine.errors import AudioLoadError, SaveError
from tests.conftest import sine


def test_stereo_is_mixed_down_and_resampled(write_wav):
    left, right = sine(440, 1.0, 22050), sine(440, 1.0, 22050) * 0.5
    path = write_wav("stereo.wav", np.stack([left, right], axis=1), 22050, subtype="FLOAT")
    audio = load_audio(path, 16000)
    assert audio.sample_rate_hz == 16000 and audio.samples.dtype == np.float32
    assert len(audio.samples) == 16000
    peak_hz = np.argmax(np.abs(np.fft.rfft(audio.samples))) * 16000 / len(audio.samples)
    assert abs(peak_hz - 440) < 2
    assert np.sqrt(np.mean(audio.samples**2)) == pytest.approx(0.75 * 0.5 / np.sqrt(2), rel=0.02)


@pytest.mark.parametrize("suffix", [".flac", ".ogg", ".wav"])
def test_formats_round_trip(tmp_path, suffix):
    path = tmp_path / f"tone{suffix}"
    save_audio(path, sine(1000, 0.5, 16000), 16000)
    audio = load_audio(path)
    assert audio.sample_rate_hz == 16000 and abs(len(audio.samples) - 8000) < 100


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt "), "not a readable audio file"),
        (lambda p: p.write_text("hello, I am a text file\n" * 20), "not a readable audio file"),
        (lambda p: sf.write(p, np.zeros(1, np.float32), 16000), "only 1 sample"),
        (lambda p: sf.write(p, np.array([0.1, np.nan, 0.2], np.float32), 16000, subtype="FLOAT"), "NaN"),
    ],
    ids=["empty", "truncated-header", "text", "one-sample", "nan"],
)
def test_bad_files_raise_clear_errors_naming_the_file(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioLoadError, match=message) as info:
        load_audio(path)
    assert str(path) in str(info.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(AudioLoadError, match="no such file"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioLoadError, match="folder"):
        load_audio(tmp_path)


def test_too_long_is_refused_before_decoding(write_wav):
    path = write_wav("long.wav", np.zeros(16000 * 3, np.float32), 16000)
    with pytest.raises(AudioLoadError, match="longer than"):
        load_audio(path, max_s=2.0)


def test_fit_length_and_resample():
    x = np.arange(10, dtype=np.float32)
    assert np.array_equal(fit_length(x, 4), x[3:7])
    assert np.array_equal(fit_length(x, 12)[:10], x) and fit_length(x, 12)[10:].sum() == 0
    y = resample(sine(100, 1.0, 8000), 8000, 16000)
    assert len(y) == 16000


def test_silence_detection():
    assert is_silent(np.zeros(100, np.float32))
    assert not is_silent(sine(440, 0.1))


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "keep.wav"
    save_audio(path, sine(440, 0.2), 16000)
    before = path.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sf, "write", full_disk)
    with pytest.raises(SaveError, match="No space left"):
        save_audio(path, sine(880, 0.2), 16000)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.wav"]


def test_saved_files_get_ordinary_permissions(tmp_path):
    import os
    import stat

    from engine.atomic import atomic_write_text

    path = tmp_path / "notes.json"
    atomic_write_text(path, "{}")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    path.chmod(0o640)
    atomic_write_text(path, "{}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
