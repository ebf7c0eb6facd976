import builtins
import sys

import numpy as np
import pytest

from engine import sources
from engine.errors import AudioDeviceError
from engine.ringbuffer import RingBuffer
from engine.sources import FileSource, MicSource, import_sounddevice
from tests.conftest import sine


def test_file_source_by_hand_writes_exact_blocks():
    ring = RingBuffer(10000)
    reader = ring.reader()
    source = FileSource(ring, np.arange(1000, dtype=np.float32), 8000, block_size=300)
    assert source.feed(2) == 600
    assert source.feed(5) == 400 and source.finished
    np.testing.assert_array_equal(reader.read(), np.arange(1000, dtype=np.float32))


def test_file_source_thread_paces_and_stops(qtbot=None):
    ring = RingBuffer(16000)
    finished = []
    source = FileSource(ring, sine(440, 0.2), 16000, block_size=320, speed=4.0,
                        on_finished=lambda: finished.append(True))
    source.start()
    source._thread.join(2.0)
    source.stop()
    assert ring.total_written == 3200 and finished == [True]


def test_looping_file_source_runs_until_stopped():
    ring = RingBuffer(1000)
    source = FileSource(ring, np.ones(100, dtype=np.float32), 8000, block_size=50, speed=None, loop=True)
    assert source.feed(10) == 500 and not source.finished


def test_missing_portaudio_becomes_a_device_error(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(AudioDeviceError, match="libportaudio2"):
        import_sounddevice()
    with pytest.raises(AudioDeviceError, match="PortAudio"):
        MicSource(RingBuffer(100), 16000).start()


def test_no_microphone_is_a_clear_error():
    sd = import_sounddevice()
    if any(d["max_input_channels"] > 0 for d in sd.query_devices()):
        pytest.skip("this machine has an input device")
    with pytest.raises(AudioDeviceError, match="No microphone"):
        MicSource(RingBuffer(100), 16000).start()
    assert sources.list_input_devices() == []


class _Status:
    input_overflow = True


def test_callback_only_copies_and_counts_and_vanishing_is_reported():
    ring = RingBuffer(1000)
    errors = []
    mic = MicSource(ring, 16000, on_error=errors.append)
    block = np.arange(64, dtype=np.float32).reshape(-1, 1)
    mic._callback(block, 64, None, _Status())
    assert mic.overflow_count == 1 and mic.block_count == 1
    np.testing.assert_array_equal(ring.latest(64), block[:, 0])
    mic._finished()  # PortAudio ended the stream without stop(): the device vanished
    assert isinstance(errors[0], AudioDeviceError) and "disappeared" in str(errors[0])
    with pytest.raises(AudioDeviceError):
        mic.check()
