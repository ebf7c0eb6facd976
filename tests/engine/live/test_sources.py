import sys

import numpy as np
import pytest

from engine.errors import AudioDeviceError
from engine.live import sources
from engine.live.ringbuffer import RingBuffer
from engine.live.sources import FileSource, MicSource, import_sounddevice
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


def test_missing_portaudio_becomes_a_device_error(portaudio_missing):
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


_CAPTURE = """
import sys, time
import numpy as np
from engine.live.ringbuffer import RingBuffer
from engine.live.sources import MicSource, list_input_devices
ring = RingBuffer(4_000_000)
mic = MicSource(ring, 16000)
mic.start()
end = time.monotonic() + 10
while ring.total_written < 32000 and time.monotonic() < end:
    time.sleep(0.0005)
mic.stop()
np.save(sys.argv[1], np.array(ring.window(32000, 32000)))
print([d.name for d in list_input_devices()], mic.block_count, mic.overflow_count)
"""


def test_mic_source_captures_the_virtual_microphone_sample_for_sample(tmp_path):
    """The real PortAudio path (ALSA's unpaced file plugin: exact samples, no clock): the callback's
    copies are bit-exact."""
    import os
    import subprocess
    from pathlib import Path

    try:
        import_sounddevice()
    except AudioDeviceError:
        pytest.skip("needs the PortAudio library")
    from tests.paced_mic import UNPACED_ASOUNDRC as ASOUNDRC

    raw = tmp_path / "mic.raw"
    audio = sine(440, 2.0)
    audio.astype("<f4").tofile(raw)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text(ASOUNDRC.replace("@RAW_PCM_PATH@", str(raw)))
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(root)}
    env.pop("ALSA_CONFIG_PATH", None)
    done = subprocess.run([sys.executable, "-c", _CAPTURE, str(tmp_path / "got.npy")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "default" in done.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "got.npy"), audio)


_CAPTURE_STEREO = """
import sys, time
import numpy as np
from engine.live.ringbuffer import RingBuffer
from engine.live.sources import MicSource
ring = RingBuffer(160000)
mic = MicSource(ring, 16000, channels=2)
mic.start()
print("ready", flush=True)
end = time.monotonic() + 15
while ring.total_written < 48000 and time.monotonic() < end:
    time.sleep(0.01)
mic.stop()
n = ring.total_written
np.save(sys.argv[1], np.stack([ring.window(n, n)] + [r.window(n, n) for r in mic.channel_rings]))
"""


def test_a_stereo_microphone_gives_both_channels_and_their_mix(tmp_path):
    """Stereo is not reduced to its first channel: each channel as captured (for the recorder)
    and their mean (for the model), on the paced PulseAudio microphone with two channels."""
    import os
    import subprocess
    import tempfile
    from pathlib import Path

    from tests.paced_mic import PacedMic, missing_reason

    try:
        import_sounddevice()
    except AudioDeviceError:
        pytest.skip("needs the PortAudio library")
    if missing_reason():
        pytest.skip(missing_reason())
    left, right = sine(300, 2.0, amplitude=0.4), sine(1200, 2.0, amplitude=0.2)
    root = Path(__file__).resolve().parents[3]
    with PacedMic(tempfile.mkdtemp(prefix="earmark-mic-"), channels=2) as mic:
        env = {**os.environ, **mic.env, "PYTHONPATH": str(root)}
        env.pop("ALSA_CONFIG_PATH", None)
        child = subprocess.Popen([sys.executable, "-c", _CAPTURE_STEREO, str(tmp_path / "got.npy")], cwd=root,
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready", child.communicate(timeout=30)[1][-2000:]
        mic.play(np.stack([left, right], axis=1))
        _, err = child.communicate(timeout=60)
        assert child.returncode == 0, err[-2000:]
    mix, got_left, got_right = np.load(tmp_path / "got.npy")
    start = int(np.argmax(np.abs(got_left) > 1e-6)) - 1  # sin(0) = 0: the tone starts one sample earlier
    n = len(left) - 1
    np.testing.assert_array_equal(got_left[start:start + n], left[:n])
    np.testing.assert_array_equal(got_right[start:start + n], right[:n])
    np.testing.assert_allclose(mix[start:start + n], (left[:n] + right[:n]) / 2, atol=1e-7)
