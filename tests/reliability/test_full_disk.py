"""A full disk during a save or a recording: a clear SaveError, and what was safe stays safe.

Where the test runs as root it mounts a real tiny tmpfs (``mount -t tmpfs -o size=…``) and
fills it for real; elsewhere those tests skip and the monkeypatched ENOSPC tests (which
always run) cover the same code paths.
"""

from __future__ import annotations

import errno
import os
import subprocess
import time

import numpy as np
import pytest
import soundfile as sf

from engine.atomic import atomic_open, atomic_write_bytes, atomic_write_json, atomic_write_with
from engine.audio.io import save_audio
from engine.errors import SaveError
from engine.live.recorder import Recorder
from engine.live.ringbuffer import RingBuffer

from .support import sine

pytestmark = pytest.mark.timeout(60)

RATE_HZ = 16000


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 192 KiB file system (tmpfs), unmounted afterwards; skips where mounting is not allowed."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root; the monkeypatched tests cover the same paths")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def only(folder, *names):
    assert sorted(p.name for p in folder.iterdir()) == sorted(names), "a temporary file was left behind"


# ---- a real full disk --------------------------------------------------------------------------

def test_json_save_on_a_full_disk_keeps_the_old_file(tiny_disk):
    path = tiny_disk / "labels.json"
    atomic_write_json(path, {"version": 1})
    before = path.read_bytes()
    with pytest.raises(SaveError, match="disk is full") as info:
        atomic_write_json(path, {"version": 2, "pad": "x" * 400_000})
    assert str(path) in str(info.value) and "previous version was kept" in str(info.value)
    assert path.read_bytes() == before
    only(tiny_disk, "labels.json")
    atomic_write_json(path, {"version": 3})  # space is back: saving works again
    assert b'"version": 3' in path.read_bytes()


def test_audio_and_model_saves_on_a_full_disk_keep_the_old_files(tiny_disk):
    wav = tiny_disk / "take.wav"
    save_audio(wav, sine(1600, RATE_HZ), RATE_HZ)
    wav_before = wav.read_bytes()
    with pytest.raises(SaveError, match=str(wav)):
        save_audio(wav, sine(10 * RATE_HZ, RATE_HZ), RATE_HZ)  # 320 KB of PCM_16 on a 192 KiB disk
    assert wav.read_bytes() == wav_before
    model = tiny_disk / "model.onnx"
    atomic_write_bytes(model, b"old model")
    with pytest.raises(SaveError, match="disk is full"):
        atomic_write_bytes(model, bytes(300_000))
    assert model.read_bytes() == b"old model"
    only(tiny_disk, "take.wav", "model.onnx")


def test_library_writer_failing_on_a_full_disk_is_a_save_error(tiny_disk):
    """A writer that raises its own error type (as torch.save does) still reads as 'disk is full'."""
    path = tiny_disk / "checkpoint.pt"
    atomic_write_bytes(path, b"epoch 1")

    def writer(tmp):
        try:
            with open(tmp, "wb") as handle:
                handle.write(bytes(400_000))
        except OSError as exc:
            raise RuntimeError("PytorchStreamWriter failed writing file data") from exc

    with pytest.raises(SaveError, match="disk is full"):
        atomic_write_with(path, writer)
    assert path.read_bytes() == b"epoch 1"
    only(tiny_disk, "checkpoint.pt")


def test_recording_onto_a_filling_disk_keeps_a_playable_file(tiny_disk):
    """The recorder stops with a clear message; the WAV holds exactly the audio before the disk filled."""
    ring = RingBuffer(RATE_HZ * 4)
    recorder = Recorder(ring, RATE_HZ, tiny_disk, poll_s=0.01)
    path = recorder.start()
    audio = sine(RATE_HZ * 10, RATE_HZ, freq_hz=330.0)  # 10 s = 320 KB: cannot fit
    deadline = time.monotonic() + 20
    for i in range(0, len(audio), 1600):
        ring.write(audio[i:i + 1600])
        while recorder.recording and ring.total_written - recorder.n_samples_written > RATE_HZ:
            time.sleep(0.005)  # keep the ring from lapping the writer on a slow machine
        if not recorder.recording or time.monotonic() > deadline:
            break
    with pytest.raises(SaveError, match="were kept") as info:
        recorder.stop()
    assert str(path) in str(info.value)
    data, rate = sf.read(path, dtype="float32")
    # everything it reports as written is there (libsndfile may also keep part of the failed block)
    assert rate == RATE_HZ and 0 < recorder.n_samples_written <= len(data)
    assert recorder.dropped_samples == 0
    np.testing.assert_allclose(data, audio[: len(data)], atol=1e-4)
    assert len(data) > RATE_HZ  # most of the disk's worth of audio, not a stub


# ---- ENOSPC injected (runs everywhere) ----------------------------------------------------------

def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_enospc_at_fsync_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "settings.json"
    atomic_write_json(path, {"a": 1})
    monkeypatch.setattr(os, "fsync", _enospc)
    with pytest.raises(SaveError, match="disk is full"):
        atomic_write_json(path, {"a": 2})
    monkeypatch.undo()
    assert path.read_text().strip() == '{\n  "a": 1\n}'
    only(tmp_path, "settings.json")


def test_enospc_while_creating_the_temporary(tmp_path, monkeypatch):
    import tempfile

    path = tmp_path / "manifest.csv"
    path.write_text("old")
    monkeypatch.setattr(tempfile, "mkstemp", _enospc)
    with pytest.raises(SaveError, match="disk is full"):
        atomic_write_bytes(path, b"new")
    assert path.read_text() == "old"


def test_enospc_from_libsndfile_is_a_save_error(tmp_path, monkeypatch):
    path = tmp_path / "clip.flac"
    save_audio(path, sine(800, RATE_HZ), RATE_HZ)
    before = path.read_bytes()

    def full(*args, **kwargs):
        raise sf.LibsndfileError(0, "Error writing to file (disk full)")

    monkeypatch.setattr(sf, "write", full)
    with pytest.raises(SaveError, match="clip.flac"):
        save_audio(path, sine(800, RATE_HZ), RATE_HZ)
    assert path.read_bytes() == before
    only(tmp_path, "clip.flac")


def test_a_failing_write_inside_atomic_open_keeps_the_old_file(tmp_path):
    path = tmp_path / "edits.json"
    path.write_text("old")
    with pytest.raises(SaveError, match="disk is full"), atomic_open(path, "w") as handle:
        handle.write("partial")
        _enospc()
    assert path.read_text() == "old"
    only(tmp_path, "edits.json")
