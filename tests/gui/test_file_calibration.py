"""The File tab calibrates a calibratable model to the open recording, when it is long enough."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from engine.models.catalog import ModelCatalog
from engine.models.classifier import OnnxClassifier
from tests.helpers_calibration import SR, write_calibratable_model


@pytest.fixture
def view(qtbot, tmp_path, settings):
    from gui.file_view import FileView

    folder = tmp_path / "models"
    folder.mkdir()
    write_calibratable_model(folder / "speaker.onnx")
    catalog = ModelCatalog([("shipped", folder)], threads=1)
    widget = FileView(catalog, settings, use_audio_device=False)
    qtbot.addWidget(widget)
    widget.show()
    catalog.refresh()
    qtbot.waitUntil(lambda: catalog.settled and catalog.classifier is not None, timeout=60000)
    yield widget
    widget.shutdown()


def _recording(write_wav, name: str, seconds: float, offset: float):
    rng = np.random.default_rng(7)
    samples = (offset + 0.2 * rng.standard_normal(int(seconds * SR))).astype(np.float32)
    return write_wav(name, samples, SR, subtype="FLOAT"), samples


def _classified(qtbot, view, action):
    with qtbot.waitSignal(view.classified, timeout=20000) as blocker:
        action()
    return blocker.args[0]


def test_a_long_recording_is_calibrated_to_itself_and_a_short_one_is_not(qtbot, view, write_wav, tmp_path):
    assert view.calibrate_box.isVisible() and view.calibrate_box.isChecked()
    path, samples = _recording(write_wav, "long.wav", 25.0, offset=0.4)
    predictions = _classified(qtbot, view, lambda: view.open_file(path))
    model = OnnxClassifier.load(tmp_path / "models" / "speaker.onnx", sandbox=False)
    own = model.calibrated(model.calibrate([samples]))
    assert predictions.calibrated and "calibrated to this recording" in view.info_label.text()
    np.testing.assert_allclose(predictions.clip_probs, own.classify(samples), atol=1e-5)
    assert np.abs(predictions.clip_probs - model.classify(samples)).max() > 0.01   # not the default

    uncalibrated = _classified(qtbot, view, lambda: view.calibrate_box.setChecked(False))
    assert not uncalibrated.calibrated and view.settings.get("file/calibrate") is False
    np.testing.assert_allclose(uncalibrated.clip_probs, model.classify(samples), atol=1e-5)

    again = _classified(qtbot, view, lambda: view.calibrate_box.setChecked(True))
    assert again.calibrated
    short, short_samples = _recording(write_wav, "short.wav", 10.0, offset=0.4)
    brief = _classified(qtbot, view, lambda: view.open_file(short))
    assert not brief.calibrated and "not calibrated: under 20 s" in view.info_label.text()
    np.testing.assert_allclose(brief.clip_probs, model.classify(short_samples), atol=1e-5)


def test_the_box_is_hidden_for_a_model_that_cannot_be_calibrated(qtbot, main_window, two_tone_wav):
    view = main_window.file_view
    with qtbot.waitSignal(view.classified, timeout=10000) as blocker:
        view.open_file(two_tone_wav)
    assert not view.calibrate_box.isVisible() and not blocker.args[0].calibrated


@pytest.fixture
def live(qtbot, tmp_path, settings):
    from gui.live_view import LiveView

    folder = tmp_path / "live_models"
    folder.mkdir()
    write_calibratable_model(folder / "speaker.onnx")
    catalog = ModelCatalog([("shipped", folder)], threads=1)
    view = LiveView(catalog, settings)
    qtbot.addWidget(view)
    view.show()
    catalog.refresh()
    qtbot.waitUntil(lambda: catalog.settled and catalog.classifier is not None, timeout=60000)
    yield view
    view.shutdown()


def test_the_live_view_calibrates_to_the_voice_it_hears_and_unticking_starts_over(qtbot, live, write_wav):
    assert live.calibrate_box.isVisible() and live.calibrate_box.isChecked()
    live.hop_spin.setValue(0.05)                  # a new window of the 0.05 s model every hop
    path, _ = _recording(write_wav, "voice.wav", 60.0, offset=0.4)
    assert live.start_file_input(path, speed=4.0)
    qtbot.waitUntil(lambda: "Calibrating to the voice:" in live.latency_label.text(), timeout=10000)
    assert re.fullmatch(r"calibrating to the voice: \d+ of 20 s of voice heard", live.last_result.calibration)
    qtbot.waitUntil(lambda: "Calibrated to the voice (" in live.latency_label.text(), timeout=30000)
    live.calibrate_box.setChecked(False)                       # a new stream: no calibration
    assert live.settings.get("live/calibrate") is False
    qtbot.waitUntil(lambda: live.last_result is not None and live.last_result.calibration == ""
                    and "alibrat" not in live.latency_label.text(), timeout=10000)
    live.stop()


def test_the_live_box_is_hidden_for_a_model_that_cannot_be_calibrated(main_window):
    assert not main_window.live_view.calibrate_box.isVisible()


# -- real clips, the shipped model: pauses stay out of the calibration, implausible ones are refused --

@pytest.fixture
def shipped(tmp_path):
    from tests.helpers_calibration import SHIPPED_MODEL, emodb_speaker

    clips, labels = emodb_speaker("15", limit=20)      # skips without the data; 17 of 20 right uncalibrated
    folder = tmp_path / "shipped_models"
    folder.mkdir()
    shutil.copy(SHIPPED_MODEL, folder / "emodb.onnx")
    return folder, clips, labels


def _open_catalog(qtbot, folder):
    catalog = ModelCatalog([("shipped", folder)], threads=1)
    catalog.refresh()
    qtbot.waitUntil(lambda: catalog.settled and catalog.classifier is not None, timeout=60000)
    return catalog


def _hum(seconds: float = 30.0) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.3 * np.sin(2 * np.pi * 120 * t)).astype(np.float32)      # mains hum, no voice


def test_the_file_view_calibrates_on_a_recording_with_long_pauses_no_worse_than_uncalibrated(
        qtbot, shipped, settings, write_wav):
    from gui.file_view import FileView
    from tests.helpers_calibration import pause

    folder, clips, labels = shipped
    catalog = _open_catalog(qtbot, folder)
    view = FileView(catalog, settings, use_audio_device=False)
    qtbot.addWidget(view)
    view.show()
    settings.set("file/hop_s", 1.0)
    view.calibrate_box.setChecked(True)
    gap = pause(3.0, -70.0)                                          # room noise, 60 % of the recording
    path = write_wav("speaker.wav", np.concatenate([np.r_[c, gap] for c in clips]), 16000, subtype="FLOAT")
    calibrated = _classified(qtbot, view, lambda: view.open_file(path))
    assert calibrated.calibrated and "calibrated to this recording" in view.info_label.text()
    uncalibrated = _classified(qtbot, view, lambda: view.calibrate_box.setChecked(False))
    assert not uncalibrated.calibrated

    def right(predictions) -> int:   # the window starting with each utterance holds exactly it
        rows = [int(np.flatnonzero(np.isclose(predictions.starts_s, 5.0 * i))[0]) for i in range(len(clips))]
        return sum(predictions.labels[int(np.argmax(predictions.window_probs[r]))] == y
                   for r, y in zip(rows, labels, strict=True))

    assert right(calibrated) >= right(uncalibrated)

    view.calibrate_box.setChecked(True)
    hum = write_wav("hum.wav", _hum(), 16000, subtype="FLOAT")
    refused = _classified(qtbot, view, lambda: view.open_file(hum))
    assert not refused.calibrated
    assert "calibration to hum.wav refused" in view.info_label.text() and "implausible" in view.info_label.text()
    view.shutdown()


def test_the_live_view_calibrates_on_a_voice_with_long_pauses_no_worse_than_uncalibrated(
        qtbot, shipped, settings, write_wav):
    from gui.live_view import LiveView
    from tests.helpers_calibration import correct, pause

    folder, clips, labels = shipped
    catalog = _open_catalog(qtbot, folder)
    live = LiveView(catalog, settings)
    qtbot.addWidget(live)
    live.show()
    live.calibrate_box.setChecked(True)
    live.hop_spin.setValue(0.5)
    gap = pause(3.0, -48.0)                           # room noise above the live silence gate (-50 dBFS)
    path = write_wav("voice.wav", np.concatenate([np.r_[c, gap] for c in clips]), 16000, subtype="FLOAT")
    assert live.start_file_input(path, speed=4.0)
    try:
        qtbot.waitUntil(lambda: "Calibrated to the voice (" in live.latency_label.text(), timeout=120000)
        stats = live.worker._stream.calibration._active.calibration
    finally:
        live.stop()
    model = catalog.classifier
    assert stats is not None and model.calibration is None
    assert correct(model.calibrated(stats), clips, labels) >= correct(model, clips, labels)
    live.shutdown()


def test_the_live_view_refuses_an_implausible_calibration_and_says_why(qtbot, shipped, settings, write_wav):
    from gui.live_view import LiveView

    folder, _, _ = shipped
    catalog = _open_catalog(qtbot, folder)
    live = LiveView(catalog, settings)
    qtbot.addWidget(live)
    live.show()
    live.calibrate_box.setChecked(True)
    live.hop_spin.setValue(0.5)
    assert live.start_file_input(write_wav("hum.wav", _hum(), 16000, subtype="FLOAT"), speed=4.0)
    try:
        qtbot.waitUntil(lambda: "implausible" in live.latency_label.text(), timeout=120000)
        assert live.last_result.calibration.startswith("not calibrated: the voice's statistics are implausible")
        assert live.worker._stream.calibration._active.calibration is None
    finally:
        live.stop()
    live.shutdown()
