"""Files the loader must open or refuse for the right reason (issue 14, defects 8, 11 and 13).

Names that are not valid UTF-8 are read; no read permission, a FIFO, a device and a symbolic
link loop each get their own message; the one length limit is stated with the rate that binds.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import soundfile as sf

from engine.audio.io import MAX_DECODED_SAMPLES, load_audio
from engine.datasets.manifest import read_manifest
from engine.errors import AudioLoadError
from tests.conftest import sine
from tests.reliability.support import wav_header

pytestmark = [pytest.mark.timeout(60), pytest.mark.skipif(os.name != "posix", reason="POSIX file names and modes")]
REPO = Path(__file__).resolve().parents[3]


def _wav_bytes(seconds=0.2, rate=16000) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, sine(440, seconds, rate), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _write_raw(path_bytes: bytes, data: bytes) -> Path:
    with open(path_bytes, "wb") as handle:  # a bytes name: the file system's own spelling
        handle.write(data)
    return Path(os.fsdecode(path_bytes))


def test_a_name_that_is_not_utf8_is_read(tmp_path):
    path = _write_raw(os.fsencode(tmp_path) + b"/caf\xe9-latin1.wav", _wav_bytes())
    audio = load_audio(path, 8000)
    assert len(audio.samples) == 1600 and audio.path == path


def test_a_data_set_with_such_names_reads_and_loads(tmp_path):
    for label in (b"dog", b"cat"):
        os.makedirs(os.fsencode(tmp_path) + b"/data/" + label)
        _write_raw(os.fsencode(tmp_path) + b"/data/" + label + b"/\xff\xfe-" + label + b".wav", _wav_bytes())
    manifest = read_manifest(tmp_path / "data", "folders")
    assert sorted(c.label for c in manifest.clips) == ["cat", "dog"]
    for clip in manifest.clips:
        assert len(load_audio(clip.path).samples) == 3200


def test_an_error_about_such_a_name_can_be_printed(tmp_path):
    path = _write_raw(os.fsencode(tmp_path) + b"/bad\xe9.wav", b"not audio at all, only text" * 10)
    with pytest.raises(AudioLoadError, match="not a readable audio file") as info:
        load_audio(path)
    message = str(info.value)
    message.encode("utf-8")  # no lone surrogates: a terminal or a log can show it
    assert "bad\\xe9.wav" in message


def test_a_fifo_is_not_a_regular_file_and_is_never_opened(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)  # opening it to read would block until a writer comes: the test's timeout catches that
    with pytest.raises(AudioLoadError, match=r"not a regular file \(a named pipe \(FIFO\)\)") as info:
        load_audio(fifo)
    assert "empty" not in str(info.value) and str(fifo) in str(info.value)


def test_a_device_is_not_a_regular_file(tmp_path):
    with pytest.raises(AudioLoadError, match="not a regular file .a character device"):
        load_audio("/dev/zero")


def test_a_symlink_loop_says_so(tmp_path):
    (tmp_path / "a.wav").symlink_to(tmp_path / "b.wav")
    (tmp_path / "b.wav").symlink_to(tmp_path / "a.wav")
    with pytest.raises(AudioLoadError, match="symbolic link loop") as info:
        load_audio(tmp_path / "a.wav")
    assert "no such file" not in str(info.value)
    (tmp_path / "gone.wav").symlink_to(tmp_path / "missing.wav")
    with pytest.raises(AudioLoadError, match="a symbolic link to a missing file"):
        load_audio(tmp_path / "gone.wav")


PERMISSION_CHILD = """
import os, sys
from engine.audio.io import load_audio
from engine.errors import AudioLoadError
if os.geteuid() == 0:  # root reads anything: become an ordinary user once everything is imported
    os.setgid(65534)
    os.setuid(65534)
try:
    load_audio(sys.argv[1])
except AudioLoadError as exc:
    print(exc)
"""


def test_no_read_permission_says_permission_denied():
    folder = Path(tempfile.mkdtemp(prefix="earmark-perm-"))  # not under pytest's 0700 folders
    try:
        folder.chmod(0o755)
        path = folder / "locked.wav"
        path.write_bytes(_wav_bytes())
        path.chmod(0o000)
        run = subprocess.run([sys.executable, "-c", PERMISSION_CHILD, str(path)], capture_output=True,
                             text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
        assert run.returncode == 0, run.stderr
        message = run.stdout.strip()
        assert "permission denied" in message and str(path) in message, message
        assert "System error" not in message
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _sparse_wav(path: Path, seconds: float, rate: int) -> Path:
    n_data = int(seconds * rate) * 2
    with open(path, "wb") as handle:
        handle.write(wav_header(sample_rate_hz=rate, channels=1, bits=16, n_data_bytes=n_data))
        handle.truncate(44 + n_data)
    return path


def test_the_length_limit_names_the_rate_that_binds(tmp_path):
    hour_48k = _sparse_wav(tmp_path / "hour48k.wav", 3600, 48000)
    with pytest.raises(AudioLoadError) as info:
        load_audio(hour_48k, 16000)  # decoded at 48 kHz, then resampled down: 48 kHz binds
    message = str(info.value)
    assert "at 48000 Hz" in message and "16000" not in message
    assert "2796 s (46.6 min)" in message and "longer than" in message
    hour_16k = _sparse_wav(tmp_path / "hour16k.wav", 3600, 16000)
    with pytest.raises(AudioLoadError, match=r"at 48000 Hz \(the rate it is resampled to\)"):
        load_audio(hour_16k, 48000)
    assert len(load_audio(hour_16k).samples) == 3600 * 16000  # at its own rate an hour fits


def test_one_limit_the_samples_not_a_second_one_in_hours(tmp_path):
    from engine.audio.io import max_load_s

    assert max_load_s(44100) == pytest.approx(MAX_DECODED_SAMPLES / 44100)
    assert 50 * 60 < max_load_s(44100) < 51 * 60  # "about 50 minutes at 44.1 kHz", as the message says
    long_low_rate = _sparse_wav(tmp_path / "five_hours_at_1khz.wav", 5 * 3600, 1000)
    assert len(load_audio(long_low_rate).samples) == 5 * 3600 * 1000  # 72 MB: within the one bound
