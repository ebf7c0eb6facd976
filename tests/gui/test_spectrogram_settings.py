"""FFT size, window and overlap of the spectrogram in the File, Annotate and Audit tabs (issue 27): each
change redraws the spectrogram (bins n_fft/2+1, columns set by the overlap, values by the window), the
choice is remembered for a new view, and the Audit tab's overview strip shows the clip's envelope."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from engine.audio.spectrogram import SpectrogramSettings
from tests.conftest import sine

SR = 16000


def _choose(box, *, n_fft=None, window=None, overlap=None):
    if n_fft is not None:
        box.fft_box.setCurrentText(str(n_fft))
    if window is not None:
        box.window_box.setCurrentText(window)
    if overlap is not None:
        box.overlap_box.setCurrentIndex(box.overlap_box.findData(overlap))


def _check_clip_spectrogram(qtbot, box, spec, n_samples):
    """A File or Audit spectrogram of ``n_samples`` redrawn as each setting changes (default 512, 75%)."""
    assert spec._db.shape == (1 + n_samples // 128, 257)
    _choose(box, n_fft=256)
    qtbot.waitUntil(lambda: spec._db.shape[1] == 129, timeout=10000)
    assert spec._db.shape[0] == 1 + n_samples // 64                # hop = 256 * (1 - 0.75)
    _choose(box, overlap=0.875)
    qtbot.waitUntil(lambda: spec._db.shape[0] == 1 + n_samples // 32, timeout=10000)
    _choose(box, overlap=0.5)
    qtbot.waitUntil(lambda: spec._db.shape[0] == 1 + n_samples // 128, timeout=10000)
    hann = spec._db.copy()
    _choose(box, window="blackman")
    qtbot.waitUntil(lambda: not np.array_equal(spec._db, hann), timeout=10000)
    assert spec._db.shape == hann.shape                            # the window changes values, not the shape
    assert box.current() == SpectrogramSettings(256, "blackman", 0.5)


def test_the_file_tabs_fft_window_and_overlap_redraw_its_spectrogram_and_are_remembered(
        qtbot, main_window, write_wav, settings, catalog):
    from gui.main_window import MainWindow

    view = main_window.file_view
    main_window.tabs.setCurrentWidget(view)
    with qtbot.waitSignal(view.classified, timeout=20000):
        view.open_file(write_wav("tones.wav", np.concatenate([sine(500, 0.5), sine(3000, 0.5)])))
    _check_clip_spectrogram(qtbot, view.spectrogram_settings, view.spectrogram, SR)
    main_window.close()
    again = MainWindow(settings, catalog, use_audio_device=False)
    qtbot.addWidget(again)
    assert again.file_view.spectrogram_settings.current() == SpectrogramSettings(256, "blackman", 0.5)
    with qtbot.waitSignal(again.file_view.loaded, timeout=20000):
        again.file_view.open_file(write_wav("again.wav", sine(440, 1.0)))
    assert again.file_view.spectrogram._db.shape == (1 + SR // 128, 129)   # a new file opens with the choice
    again.close()


@pytest.fixture
def recording(write_wav):
    """8 s: quiet noise, a 2 kHz tone at 4-5 s."""
    x = 0.001 * np.random.default_rng(0).standard_normal(8 * SR).astype(np.float32)
    x[4 * SR:5 * SR] += sine(2000, 1.0, SR)
    return write_wav("rec.wav", x, SR)


def _distinct_columns(data) -> int:
    return int(np.unique(data.db, axis=0).shape[0])


def test_the_annotate_tabs_fft_window_and_overlap_redraw_its_spectrogram_and_are_remembered(
        qtbot, annotate_view, recording, catalog, settings):
    from gui.file.annotate_view import AnnotateView

    view = annotate_view
    with qtbot.waitSignal(view.range_shown, timeout=10000):
        assert view.open_file(recording)
    view.zoom_to(4.25, 4.75)    # 8000 samples over about a thousand pixel columns: frames decide
    qtbot.waitUntil(lambda: view.spectrogram.data is not None
                    and abs(view.spectrogram.data.start_s - 4.25) < 1e-6, timeout=10000)
    box = view.spectrogram_settings
    assert box.current() == SpectrogramSettings(1024, "hann", 0.75)
    assert abs(_distinct_columns(view.spectrogram.data) - 8000 / 256) <= 2   # one frame every 256 samples
    _choose(box, overlap=0.875)
    qtbot.waitUntil(lambda: abs(_distinct_columns(view.spectrogram.data) - 8000 / 128) <= 2, timeout=10000)
    _choose(box, overlap=0.5)
    qtbot.waitUntil(lambda: abs(_distinct_columns(view.spectrogram.data) - 8000 / 512) <= 2, timeout=10000)
    _choose(box, n_fft=2048)
    qtbot.waitUntil(lambda: view.spectrogram.data.n_fft == 2048, timeout=10000)
    assert view.spectrogram.item.image.shape[1] == 1025
    assert abs(_distinct_columns(view.spectrogram.data) - 8000 / 1024) <= 2
    hann = view.spectrogram.data.db
    _choose(box, window="hamming")
    qtbot.waitUntil(lambda: view.spectrogram.data.window == "hamming", timeout=10000)
    assert view.spectrogram.data.db.shape == hann.shape and not np.array_equal(view.spectrogram.data.db, hann)
    freqs = view.spectrogram.data.freqs_hz()
    assert np.all(np.abs(freqs[view.spectrogram.data.db.argmax(axis=1)] - 2000) < 20)   # still the tone
    assert settings.get("annotate/n_fft") == 2048                  # the key it always had
    again = AnnotateView(catalog, settings, use_audio_device=False)
    qtbot.addWidget(again)
    assert again.spectrogram_settings.current() == SpectrogramSettings(2048, "hamming", 0.5)
    again.shutdown()


@pytest.fixture
def clip_set(write_wav, tmp_path):
    """Three half-second EmoDB-named clips at 8 kHz; the first is silent for 0.25 s, then a tone."""
    first = np.concatenate([np.zeros(2000, np.float32), sine(2000, 0.25, 8000)])   # a full cycle every 4 samples
    for name, x in [("03a01Wa.wav", first), ("03a02Fa.wav", sine(500, 0.5, 8000)),
                    ("08b01Na.wav", sine(700, 0.5, 8000))]:
        write_wav(f"emodb/wav/{name}", x, 8000)
    return tmp_path / "emodb"


def _open_audit(qtbot, window, root):
    audit = window.audit_view
    if audit is None:
        pytest.skip("the Audit tab is not installed")
    window.tabs.setCurrentWidget(audit)
    audit.autoplay_check.setChecked(False)
    with qtbot.waitSignal(audit.opened, timeout=20000):
        audit.open_dataset(root, "emodb")
    qtbot.waitUntil(lambda: audit.clip_panel.spectrogram._db is not None, timeout=10000)
    return audit


def test_the_audit_tabs_fft_window_and_overlap_redraw_its_spectrogram_and_are_remembered(
        qtbot, main_window, clip_set, settings, catalog):
    from gui.main_window import MainWindow

    audit = _open_audit(qtbot, main_window, clip_set)
    panel = audit.clip_panel
    _check_clip_spectrogram(qtbot, panel.spectrogram_settings, panel.spectrogram, 4000)
    assert panel.freqs_hz.size == 129                               # the saliency overlay's rows follow
    audit.shutdown()
    main_window.close()
    again = MainWindow(settings, catalog, use_audio_device=False)
    qtbot.addWidget(again)
    if again.audit_view is not None:
        assert again.audit_view.clip_panel.spectrogram_settings.current() == SpectrogramSettings(256, "blackman", 0.5)
        again.audit_view.shutdown()
    again.close()


def test_the_audit_overview_shows_the_clips_envelope_and_a_click_plays_from_there(qtbot, main_window, clip_set):
    audit = _open_audit(qtbot, main_window, clip_set)
    assert audit.session.current_key is not None
    strip = audit.clip_panel.overview
    qtbot.waitUntil(lambda: strip.upper.xData is not None and strip.upper.xData.size > 0, timeout=10000)
    x, upper, lower = strip.upper.xData, strip.upper.yData, strip.lower.yData
    duration = audit.clip_panel.audio.duration_s
    assert x[-1] == pytest.approx(duration, abs=0.01)
    samples = audit.clip_panel.audio.samples
    assert np.abs(samples[:samples.size // 2]).max() < 1e-3          # the first clip is selected
    early, late = x < duration * 0.45, x > duration * 0.55
    assert np.abs(upper[early]).max() < 0.01 and np.abs(lower[early]).max() < 0.01   # the silence, then the tone
    assert upper[late].min() > 0.3 and lower[late].max() < -0.3
    assert strip.height() <= 50                                     # a strip, not another plot
    point = strip.mapFromScene(strip.box.mapViewToScene(QPointF(duration * 0.6, 0.0)))
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=point)
    player = audit.player
    qtbot.waitUntil(lambda: player.playing, timeout=3000)
    assert player.position_s == pytest.approx(duration * 0.6, abs=0.05)
    audit.shutdown()
