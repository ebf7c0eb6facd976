import numpy as np
import pytest
import soundfile as sf

from engine.errors import SaveError
from engine.live.recorder import Recorder, timestamped_path
from engine.live.ringbuffer import RingBuffer
from tests.conftest import sine


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_records_everything_after_start(tmp_path, fmt):
    ring = RingBuffer(16000)
    ring.write(np.ones(500, dtype=np.float32))  # before start: not recorded
    recorder = Recorder(ring, 16000, tmp_path / "rec", fmt=fmt, poll_s=0.01)
    path = recorder.start()
    audio = sine(440, 1.5)
    for i in range(0, len(audio), 1000):
        ring.write(audio[i:i + 1000])
    assert recorder.stop() == path
    assert path.suffix == f".{fmt}" and path.name.startswith("earmark-")
    data, sr = sf.read(path, dtype="float32")
    assert sr == 16000 and len(data) == len(audio) - recorder.dropped_samples
    np.testing.assert_allclose(data[-1000:], audio[-1000:], atol=1e-4)


def test_timestamped_names_do_not_collide(tmp_path):
    first = timestamped_path(tmp_path, "wav", now=0)
    first.write_bytes(b"x")
    assert timestamped_path(tmp_path, "wav", now=0).name == first.stem + "-2.wav"


def test_full_disk_raises_save_error_and_keeps_what_was_written(tmp_path, monkeypatch):
    ring = RingBuffer(16000)
    recorder = Recorder(ring, 16000, tmp_path, poll_s=0.01)
    path = recorder.start()
    ring.write(sine(440, 0.25))
    while recorder.n_samples_written < 4000:
        recorder._stop.wait(0.01)
    real_write = recorder._file.write

    def full(data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(recorder._file, "write", full)
    ring.write(sine(440, 0.25))
    recorder._thread.join(2.0)
    assert not recorder.recording
    with pytest.raises(SaveError, match="No space left"):
        recorder.stop()
    assert real_write is not None
    data, _ = sf.read(path)
    assert len(data) == 4000


def test_unwritable_folder_is_a_save_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SaveError, match="Cannot record"):
        Recorder(RingBuffer(10), 8000, blocker / "sub").start()


def test_records_every_channel_at_the_capture_rate_in_the_chosen_sample_format(tmp_path):
    left, right = RingBuffer(48000), RingBuffer(48000)
    recorder = Recorder([left, right], 48000, tmp_path, fmt="wav", subtype="FLOAT", poll_s=0.01)
    path = recorder.start()
    a, b = sine(440, 0.5, 48000), sine(1000, 0.5, 48000, amplitude=0.2)
    for i in range(0, len(a), 480):
        left.write(a[i:i + 480])  # the capture thread writes the channels one after the other
        right.write(b[i:i + 480])  # and the recorder's thread may look in between
    recorder.stop()
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    assert rate == 48000 and data.shape == (len(a), 2)
    np.testing.assert_array_equal(data[:, 0], a)
    np.testing.assert_array_equal(data[:, 1], b)
    assert sf.info(path).subtype == "FLOAT"
    assert recorder.description == "stereo · 48000 Hz · 32-bit float WAV"


def test_flac_records_24_bit_and_refuses_float(tmp_path):
    ring = RingBuffer(16000)
    recorder = Recorder(ring, 16000, tmp_path, fmt="flac", subtype="PCM_24", poll_s=0.01)
    path = recorder.start()
    ring.write(sine(440, 0.25))
    recorder.stop()
    assert sf.info(path).subtype == "PCM_24" and recorder.description == "mono · 16000 Hz · 24-bit FLAC"
    with pytest.raises(ValueError, match="FLAC cannot hold"):
        Recorder(ring, 16000, tmp_path, fmt="flac", subtype="FLOAT")
