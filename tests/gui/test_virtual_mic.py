"""The live view on the real capture path (PortAudio -> ALSA -> PulseAudio) of a paced virtual
microphone (tests/paced_mic.py, ../shared/recipes/virtual-microphone.md): audio arrives at real
time as from a sound card, so pace, labels and recordings are checked as a person would see them.

Each run is a subprocess (tests/gui/virtual_mic_probe.py): ALSA reads its configuration once per
process, and the microphone's server is found through the environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.audio.io import load_audio
from tests.conftest import sine

ROOT = Path(__file__).resolve().parents[2]


def _portaudio_ok() -> bool:
    try:
        import sounddevice  # noqa: F401
    except OSError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _portaudio_ok(), reason="needs the PortAudio library (Debian: libportaudio2)")


class Probe:
    """The live view in a child process listening to the paced microphone."""

    def __init__(self, mic, model: Path, folder: Path, listen_s: float, record: Path | None = None,
                 extra: list[str] = ()) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **mic.env, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
        env.pop("ALSA_CONFIG_PATH", None)
        command = [sys.executable, "-m", "tests.gui.virtual_mic_probe", str(model), str(folder / "s.ini"),
                   "--listen-s", str(listen_s), *extra] + (["--record", str(record)] if record else [])
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)

    def wait_ready(self) -> dict:
        line = self.process.stdout.readline()
        assert line, self.process.communicate(timeout=30)[1][-3000:]
        ready = json.loads(line)
        assert ready.get("ready"), ready
        return ready

    def finish(self) -> dict:
        stdout, stderr = self.process.communicate(timeout=120)
        assert self.process.returncode == 0, stderr[-3000:]
        return json.loads(stdout.strip().splitlines()[-1])


def _classify(model: Path, wavs: list[Path]) -> dict:
    done = subprocess.run([sys.executable, "main.py", "classify", str(model), *map(str, wavs), "--json"],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return {Path(r["path"]).name: r["label"] for r in json.loads(done.stdout)["results"]}


def _assert_paced(run: dict, rate_hz: int, mic) -> None:
    """Audio came at the microphone's clock: seconds captured match seconds of wall time (an
    unpaced source delivers ~1000x; a busy machine can hold the feeder up a little)."""
    captured_s = run["captured_samples"] / rate_hz
    assert run["blocks"] > 0 and run["overflows"] == 0
    assert 0.8 * run["wall_s"] - 0.5 <= captured_s <= 1.05 * run["wall_s"] + 0.3, (captured_s, mic.late_chunks, run)


def test_live_labels_follow_the_voice_on_a_paced_microphone(paced_mic, model_dir, write_wav, tmp_path):
    model = model_dir / "tones.onnx"
    rng = np.random.default_rng(7)
    low = write_wav("low.wav", sine(600, 2.0) + rng.normal(0, 0.01, 32000).astype(np.float32))
    high = write_wav("high.wav", sine(2000, 2.0, amplitude=0.3))
    expected = _classify(model, [low, high])
    assert (expected["low.wav"], expected["high.wav"]) == ("tone_600hz", "tone_2000hz")

    probe = Probe(paced_mic, model, tmp_path / "probe", listen_s=7.0)
    ready = probe.wait_ready()
    assert ready["rate_hz"] == 16000
    for wav in (low, high):
        paced_mic.play(load_audio(wav, 16000).samples)
        paced_mic.play(np.zeros(8000, dtype=np.float32))  # 0.5 s of quiet between
    run = probe.finish()

    assert "default" in run["devices"] and run["device"].startswith("default")
    _assert_paced(run, 16000, paced_mic)
    heard = [label for _, label, silent, _ in run["results"] if not silent]
    assert heard, run
    # in order, as spoken: the 600 Hz tone's label first, then the 2 kHz tone's, each several times
    first_high = heard.index(expected["high.wav"])
    assert heard[0] == expected["low.wav"] and heard[:first_high].count(expected["low.wav"]) >= 2, heard
    assert heard[first_high:].count(expected["high.wav"]) >= 2, heard
    times = [t for t, *_ in run["results"]]
    assert times[-1] - times[0] > 3.0  # labels kept coming while the audio played, not all at once
    latencies = [lat for *_, lat in run["results"]]
    assert float(np.median(latencies)) < 0.5, latencies


def test_a_recording_from_the_paced_microphone_is_what_was_played(paced_mic, model_dir, tmp_path):
    model = model_dir / "tones.onnx"
    played = (0.4 * np.sin(2 * np.pi * 440 * np.arange(40000) / 16000)
              * np.linspace(0.2, 1.0, 40000)).astype(np.float32)  # 2.5 s, no two stretches alike
    folder = tmp_path / "recordings"
    probe = Probe(paced_mic, model, tmp_path / "probe", listen_s=4.0, record=folder)
    probe.wait_ready()
    paced_mic.play(played)
    run = probe.finish()

    _assert_paced(run, 16000, paced_mic)
    path = Path(run["record_path"])
    assert path.parent == folder and path.is_file(), run
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    assert rate == 16000
    mono = data[:, 0]
    assert abs(len(mono) / 16000 - run["wall_s"]) < 0.6, (len(mono), run["wall_s"])  # the recording is real time
    start = int(np.argmax(np.abs(mono) > 1e-3))
    start -= int(np.argmax(np.abs(played) > 1e-3))  # align on the first sound
    segment = mono[start:start + len(played)]
    assert len(segment) == len(played), "the recording stopped before the played audio ended"
    np.testing.assert_allclose(segment, played, atol=1.5 / 32768)  # PCM_16: within one step
    assert path.name in run["record_label"]


def _peak_hz(samples: np.ndarray, rate_hz: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate_hz)[int(np.argmax(spectrum))])


@pytest.fixture
def stereo_mic():
    import shutil
    import tempfile

    from tests.paced_mic import PacedMic, missing_reason

    if missing_reason():
        pytest.skip(missing_reason())
    folder = tempfile.mkdtemp(prefix="earmark-mic-")
    with PacedMic(folder, rate_hz=16000, channels=2) as mic:
        yield mic
    shutil.rmtree(folder, ignore_errors=True)


def test_a_stereo_input_is_recorded_in_stereo_at_the_device_rate_and_said_so(stereo_mic, model_dir, tmp_path):
    """Stereo is kept (not reduced to one channel, not mixed silently) and the device's own rate
    can be chosen; the Input box says what is captured, the Record box what was recorded."""
    model = model_dir / "tones.onnx"
    left, right = sine(600, 2.0, amplitude=0.4), sine(2000, 2.0, amplitude=0.3)
    folder = tmp_path / "recordings"
    probe = Probe(stereo_mic, model, tmp_path / "probe", listen_s=3.5, record=folder,
                  extra=["--capture", "device", "--subtype", "PCM_24"])
    ready = probe.wait_ready()
    device_rate = ready["rate_hz"]
    assert device_rate != 16000  # PulseAudio's default device runs at its own rate (44.1 kHz)
    stereo_mic.play(np.stack([left, right], axis=1))
    run = probe.finish()

    assert run["channels"] == 2 and run["overflows"] == 0
    assert "stereo" in run["capture_label"] and f"{device_rate} Hz" in run["capture_label"]
    assert "mono mix" in run["capture_label"] and "resampled to 16000 Hz" in run["capture_label"]
    heard = {label for _, label, silent, _ in run["results"] if not silent}
    assert heard, run  # the model hears the mix, resampled
    info = sf.info(run["record_path"])
    assert (info.channels, info.samplerate, info.subtype) == (2, device_rate, "PCM_24")
    assert f"stereo · {device_rate} Hz · 24-bit WAV" in run["record_label"]
    data, _ = sf.read(run["record_path"], dtype="float32", always_2d=True)
    loud = np.flatnonzero(np.abs(data[:, 0]) > 0.1)
    middle = data[loud[0] + device_rate // 4:loud[0] + device_rate // 4 + device_rate]  # 1 s inside the tones
    assert abs(_peak_hz(middle[:, 0], device_rate) - 600) < 5 and abs(_peak_hz(middle[:, 1], device_rate) - 2000) < 5
