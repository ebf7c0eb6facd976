"""Drive the Live tab with in-process sources: labels, silence, latency, recording, device failures."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import soundfile as sf

from engine.errors import AudioDeviceError
from engine.live.sources import FileSource, MicSource
from tests.conftest import sine


def _file_source(samples, speed=4.0):
    return lambda ring, rate: FileSource(ring, samples, rate, block_size=400, speed=speed, loop=True)


def test_live_labels_waveform_spectrogram_and_latency(qtbot, main_window):
    view = main_window.live_view
    view.hop_spin.setValue(0.25)
    with qtbot.waitSignal(view.started, timeout=3000):
        assert view.start(_file_source(sine(2000, 2.0)))
    qtbot.waitUntil(lambda: view.now_label.text() == "tone_2000hz", timeout=8000)
    assert view.bars.labels()[0] == "tone_2000hz" and view.bars.items[0][1] > 0.9
    assert "ms" in view.latency_label.text() and "real-time factor" in view.latency_label.text()
    assert view.last_result.latency_s < 0.5 and view.last_result.real_time_factor < 1.0
    qtbot.waitUntil(lambda: view.spectrogram.image[-1].max() > -40, timeout=3000)
    freqs = np.fft.rfftfreq(512, 1 / 16000)
    assert abs(freqs[np.argmax(view.spectrogram.image[-1])] - 2000) < 40
    _, wave = view.waveform.curve.getData()
    assert np.abs(wave).max() > 0.4
    assert view.meter.level_dbfs > -12
    assert len(view.frame_times_s) >= 1
    assert view._display_reader.dropped_samples == 0 and view.source.overflow_count == 0  # nothing lost
    with qtbot.waitSignal(view.stopped, timeout=3000):
        view.start_button.click()
    assert not view.running and view.start_button.text() == "Start"


def test_silence_is_shown_as_silence(qtbot, main_window):
    view = main_window.live_view
    view.start(_file_source(np.zeros(16000, dtype=np.float32)))
    qtbot.waitUntil(lambda: view.now_label.text() == "silence", timeout=8000)
    assert "Silence" in view.bars.message and view.bars.items == []
    view.stop()


def test_switching_models_while_listening(qtbot, main_window, tmp_path):
    from tests.helpers_onnx import write_tone_model

    view = main_window.live_view
    view.start(_file_source(sine(1000, 2.0)))
    qtbot.waitUntil(lambda: view.now_label.text() == "tone_1000hz", timeout=8000)
    other = write_tone_model(tmp_path / "coarse.onnx", tones_hz=(250, 1000, 4000), sample_rate_hz=8000, clip_s=0.5)
    main_window.models_panel.add_model(other)
    assert main_window.catalog.current.name == "coarse"
    qtbot.waitUntil(lambda: view.last_result is not None and len(view.last_result.top) == 3, timeout=8000)
    assert view.now_label.text() == "tone_1000hz" and "coarse" in view.model_label.text()
    view.stop()


def test_recording_writes_a_timestamped_file(qtbot, main_window, tmp_path):
    view = main_window.live_view
    view.folder_edit.setText(str(tmp_path / "recordings"))
    view.format_combo.setCurrentText("flac")
    view.start(_file_source(sine(600, 1.0), speed=8.0))
    main_window.record_action.trigger()
    assert view.recorder is not None
    qtbot.waitUntil(lambda: view.recorder.duration_s > 0.5, timeout=5000)
    main_window.record_action.trigger()
    (path,) = (tmp_path / "recordings").glob("earmark-*.flac")
    data, rate = sf.read(path)
    assert rate == 16000 and len(data) > 8000 and np.abs(data).max() > 0.4
    assert "Saved" in view.record_label.text()
    view.stop()


def test_no_microphone_is_said_and_the_app_keeps_running(qtbot, main_window):
    view = main_window.live_view
    view.refresh_devices()
    if view.device_combo.currentData() is not None:
        import pytest

        pytest.skip("this machine has an input device")
    with qtbot.waitSignal(view.failed, timeout=3000) as blocker:
        assert not view.start()
    assert "No microphone" in blocker.args[0] and "No microphone" in view.message_label.text()
    assert not view.running
    assert view.start(_file_source(sine(300, 1.0)))  # still usable
    view.stop()


def test_missing_portaudio_is_said_in_the_window(qtbot, main_window, portaudio_missing):
    view = main_window.live_view
    view.refresh_devices()
    assert "libportaudio2" in view.message_label.text()
    view.device_combo.setItemData(0, 0)  # even with a device picked, starting says why it cannot
    assert not view.start()
    assert "PortAudio" in view.message_label.text()


class _VanishingMic(MicSource):
    """A real MicSource whose 'PortAudio thread' delivers a few blocks, then the device is gone."""

    def __init__(self, ring, rate, n_blocks=30):
        super().__init__(ring, rate)
        self._n_blocks = n_blocks
        self._thread = None

    def start(self):
        self._stream = SimpleNamespace(active=True, closed=False)  # stands in for the PortAudio stream
        self._thread = threading.Thread(target=self._deliver)
        self._thread.start()

    def _deliver(self):
        class Status:
            input_overflow = False

        block = sine(300, 0.05).reshape(-1, 1)
        for _ in range(self._n_blocks):
            self._callback(block, len(block), None, Status())
            threading.Event().wait(0.01)
        self._finished()  # what PortAudio does when the device disappears

    def stop(self):
        self._stopping = True
        self._stream = None
        if self._thread is not None:
            self._thread.join(2.0)


def test_a_device_that_vanishes_while_recording(qtbot, main_window, tmp_path):
    view = main_window.live_view
    view.folder_edit.setText(str(tmp_path))
    with qtbot.waitSignal(view.failed, timeout=5000) as blocker:
        view.start(lambda ring, rate: _VanishingMic(ring, rate))
        assert view.start_recording()
    assert "disappeared" in blocker.args[0] and "disappeared" in view.message_label.text()
    assert not view.running and view.recorder is None
    (path,) = tmp_path.glob("earmark-*.wav")
    assert sf.info(path).frames > 0  # what was recorded is kept
    assert "disappeared" in main_window.statusBar().currentMessage()


def test_device_errors_are_typed():
    assert issubclass(AudioDeviceError, Exception)


def test_overflows_and_skipped_audio_reach_the_status_bar(qtbot, main_window):
    view = main_window.live_view
    view.start(_file_source(sine(300, 1.0)))
    qtbot.waitUntil(lambda: view.last_result is not None, timeout=8000)
    view.source.overflow_count = 2  # as MicSource counts PortAudio's input_overflow flags
    qtbot.waitUntil(lambda: "overflow" in main_window.statusBar().currentMessage(), timeout=3000)
    assert "2 time(s)" in main_window.statusBar().currentMessage()
    view.ring.write(np.zeros(16000 * 3, dtype=np.float32) + 0.1)  # a burst: more than 2 hops behind
    qtbot.waitUntil(lambda: "fell behind" in main_window.statusBar().currentMessage(), timeout=3000)
    view.stop()


def test_a_file_can_be_the_input_when_there_is_no_microphone(qtbot, main_window, write_wav, tmp_path):
    view = main_window.live_view
    assert view.device_combo.findText("Play an audio file as the input…") >= 0
    wav = write_wav("speech_stand_in.wav", sine(3500, 1.0, 16000))
    assert view.start_file_input(wav, speed=4.0)
    assert view.device_combo.currentText() == "speech_stand_in.wav (file)" and not view.device_combo.isEnabled()
    qtbot.waitUntil(lambda: view.now_label.text() == "tone_3500hz", timeout=8000)
    view.stop()
    assert view.device_combo.findText("speech_stand_in.wav (file)") < 0 and view.device_combo.isEnabled()
    bad = tmp_path / "not_audio.wav"
    bad.write_text("hello")
    assert not view.start_file_input(bad)
    assert "not_audio.wav" in view.message_label.text()
