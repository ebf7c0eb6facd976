"""The Live tab says what matters: when the input goes quiet (no audio at all, not silence) it
says so instead of "Listening…" with the last run's figures, and it shows which stretch of audio
the label comes from and how far that trails the voice."""

from __future__ import annotations

import numpy as np

from engine.live.sources import FileSource
from engine.live.stream import InputWatch, LiveResult, label_timing
from tests.conftest import sine


def test_an_input_that_stops_delivering_audio_is_said_and_recovers(qtbot, main_window):
    view = main_window.live_view
    view.hop_spin.setValue(0.25)
    sources = []

    def once(ring, rate):  # 1.5 s of tone, then the input delivers nothing more (a stalled device)
        sources.append(FileSource(ring, sine(2000, 1.5), rate, block_size=160, speed=1.0, loop=False))
        return sources[-1]

    messages = []
    view.status_message.connect(messages.append)
    assert view.start(once)
    qtbot.waitUntil(lambda: view.now_label.text() == "tone_2000hz", timeout=8000)
    qtbot.waitUntil(lambda: "No audio from the input" in view.bars.message, timeout=6000)
    assert view.now_label.text() == "—" and "no audio arriving" in view.latency_label.text()
    assert view.waveform.span_ago_s is None
    assert sum("No audio from" in m for m in messages) == 1  # once, not per timer tick
    sources[0].samples = np.concatenate([sources[0].samples, sine(2000, 3.0)])  # audio comes back
    sources[0].start()
    qtbot.waitUntil(lambda: view.now_label.text() == "tone_2000hz", timeout=8000)
    assert "No audio" not in view.bars.message
    view.stop()


def test_the_label_shows_its_window_on_the_waveform_and_how_far_it_trails(qtbot, main_window):
    view = main_window.live_view
    view.hop_spin.setValue(0.25)
    view.window_spin.setValue(0.5)  # shorter than the tone model's 1 s clip
    assert view.start(lambda ring, rate: FileSource(ring, sine(2000, 2.0), rate, block_size=160, loop=True))
    qtbot.waitUntil(lambda: view.now_label.text() == "tone_2000hz" and view.waveform.span_ago_s is not None,
                    timeout=8000)
    start_ago, end_ago = view.waveform.span_ago_s
    assert abs((start_ago - end_ago) - 0.5) < 1e-6 and 0.0 <= end_ago < 0.5
    text = view.latency_label.text()
    assert "0.5 s</b> window" in text and "trails the voice" in text
    assert "shorter window follows sooner" in view.window_spin.toolTip()
    view.stop()


def test_label_timing_and_input_watch_are_plain_arithmetic():
    result = LiveResult([("a", 1.0)], None, False, -10.0, end_sample=32000, latency_s=0.01, inference_s=0.001,
                        real_time_factor=0.01)
    timing = label_timing(result, newest_sample=36000, window_s=2.0, sample_rate_hz=16000)
    assert (timing.start_ago_s, timing.end_ago_s, timing.middle_ago_s) == (2.25, 0.25, 1.25)
    watch = InputWatch(stall_s=1.0)
    assert watch.update(100, 0.0) is None and watch.update(100, 0.9) is None
    assert watch.update(100, 1.5) == 1.5
    assert watch.update(200, 1.6) is None  # audio again
