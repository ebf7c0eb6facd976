"""Fixtures for the GUI tests: a real tone model, a catalog, settings in tmp, the main window."""

from __future__ import annotations

import numpy as np
import pytest

from engine.models.catalog import ModelCatalog
from tests.conftest import sine
from tests.helpers_onnx import write_model_without_metadata, write_tone_model


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models_onnx")
    write_tone_model(folder / "tones.onnx")
    write_model_without_metadata(folder / "zz_no_metadata.onnx")
    return folder


@pytest.fixture
def catalog(model_dir):
    return ModelCatalog([("shipped", model_dir)], threads=1)


@pytest.fixture
def settings(tmp_path):
    from gui.settings import Settings

    return Settings.at(tmp_path / "earmark.ini")


@pytest.fixture
def main_window(qtbot, settings, catalog):
    from gui.main_window import MainWindow

    window = MainWindow(settings, catalog, use_audio_device=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.catalog.settled, timeout=60000)  # models are vetted in the background
    yield window
    window.close()


@pytest.fixture
def annotate_view(qtbot, catalog, settings):
    """The Annotate tab on its own, laptop-sized, shown (its workers shut down after the test)."""
    from gui.file.annotate_view import AnnotateView

    view = AnnotateView(catalog, settings, use_audio_device=False)
    qtbot.addWidget(view)
    view.resize(1366, 720)
    view.show()
    qtbot.waitExposed(view)
    yield view
    view.shutdown()


@pytest.fixture
def two_tone_wav(write_wav):
    """3 s of 300 Hz then 3 s of 2 kHz at 16 kHz."""
    return write_wav("two_tones.wav", np.concatenate([sine(300, 3.0), sine(2000, 3.0)]))


@pytest.fixture
def paced_mic():
    """A paced virtual microphone (tests/paced_mic.py): a private PulseAudio whose default source
    is a pipe fed in real time by a thread; give ``paced_mic.env`` to the process under test.
    Skipped, saying why, only where pulseaudio or its ALSA plugin is not installed."""
    import shutil
    import tempfile

    from tests.paced_mic import PacedMic, missing_reason

    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    folder = tempfile.mkdtemp(prefix="earmark-mic-")  # short: a unix socket path has ~100 characters
    mic = PacedMic(folder, rate_hz=16000)
    mic.start()
    yield mic
    mic.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def xvfb():
    """A private Xvfb at 1366x768 for a subprocess on the real xcb platform (``xvfb.env()``).
    Skipped, saying why, only where Xvfb is not installed."""
    from tests.xvfb import Xvfb, missing_reason

    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    server = Xvfb()
    server.start()
    yield server
    server.stop()
