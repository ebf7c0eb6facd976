"""The Record and Input boxes: choices remembered as soon as they are made, what is captured and
recorded said in words, every channel of a stereo source recorded."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from engine.live.ringbuffer import RingBuffer
from tests.conftest import sine


def test_the_recording_format_is_remembered_before_any_recording(qtbot, settings, tmp_path):
    from gui.widgets.record_panel import RecordPanel

    panel = RecordPanel(settings)
    qtbot.addWidget(panel)
    panel.format_combo.setCurrentText("flac")
    assert [panel.subtype_combo.itemData(i) for i in range(panel.subtype_combo.count())] == ["PCM_16", "PCM_24"]
    panel.subtype_combo.setCurrentIndex(panel.subtype_combo.findData("PCM_24"))
    panel.folder_edit.setText(str(tmp_path / "takes"))
    panel.folder_edit.editingFinished.emit()
    again = RecordPanel(settings)  # the next run of the app, no recording made in between
    qtbot.addWidget(again)
    assert again.format_combo.currentText() == "flac" and again.subtype_combo.currentData() == "PCM_24"
    assert again.folder_edit.text() == str(tmp_path / "takes")
    again.format_combo.setCurrentText("wav")  # WAV also offers 32-bit float; the 24-bit choice stays
    assert again.subtype_combo.currentData() == "PCM_24" and again.subtype_combo.findData("FLOAT") >= 0


def test_the_record_box_says_what_it_records_and_records_both_channels(qtbot, settings, tmp_path):
    from gui.widgets.record_panel import RecordPanel

    class StereoSource:  # what a MicSource with channels=2 offers the panel
        def __init__(self):
            self.channel_rings = [RingBuffer(48000), RingBuffer(48000)]

    settings.set("record/folder", str(tmp_path))
    panel = RecordPanel(settings)
    qtbot.addWidget(panel)
    assert panel.format_label.text() == "" and not panel.record_button.isEnabled()
    source, mix = StereoSource(), RingBuffer(48000)
    panel.attach(mix, 48000, source)
    assert panel.format_label.text() == "Records stereo · 48000 Hz · 16-bit WAV, as captured"
    assert panel.start_recording()
    left, right = sine(500, 0.5, 48000), sine(1500, 0.5, 48000, amplitude=0.25)
    source.channel_rings[0].write(left)
    source.channel_rings[1].write(right)
    mix.write((left + right) / 2)
    qtbot.waitUntil(lambda: panel.recorder.n_samples_written == len(left), timeout=5000)
    panel.poll()
    assert "stereo · 48000 Hz" in panel.record_label.text()
    path = panel.recorder.path
    panel.stop_recording()
    assert panel.record_label.text().startswith(f"Saved {path.name}: 0.5 s, stereo · 48000 Hz · 16-bit WAV")
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    assert rate == 48000 and data.shape == (len(left), 2)
    np.testing.assert_allclose(data[:, 1], right, atol=1 / 32768)
    panel.attach(None)
    assert not panel.record_button.isEnabled()


def test_the_capture_line_names_channels_rates_and_the_mix():
    from gui.widgets.input_panel import capture_text

    assert capture_text(1, 16000, 16000) == "Capturing mono at 16000 Hz."
    assert capture_text(2, 48000, 16000) == ("Capturing stereo (2 channels) at 48000 Hz; the model hears their "
                                            "mono mix, resampled to 16000 Hz for the model.")


def test_capture_choices_are_remembered(qtbot, settings):
    from gui.widgets.input_panel import InputPanel

    panel = InputPanel(settings)
    qtbot.addWidget(panel)
    panel.capture_combo.setCurrentIndex(panel.capture_combo.findData("device"))
    panel.channels_combo.setCurrentIndex(panel.channels_combo.findData(1))
    again = InputPanel(settings)
    qtbot.addWidget(again)
    assert again.capture_combo.currentData() == "device" and again.channels_combo.currentData() == 1
