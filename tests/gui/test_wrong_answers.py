"""Wrong answers become training data: W in the Live tab keeps the answered audio as a labelled clip,
the wizard offers the corrections as a data set, and that data set trains."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import Qt

from engine.datasets.corrections import BACKGROUND, CONTEXT_S, corrections_folder
from engine.live.sources import FileSource
from tests.conftest import sine


@pytest.fixture(autouse=True)
def own_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("EARMARK_CORRECTIONS_DIR", str(tmp_path / "corrections"))


def _listen(qtbot, view, freq_hz):
    samples = sine(freq_hz, 2.0)
    with qtbot.waitSignal(view.started, timeout=3000):
        assert view.start(lambda ring, rate: FileSource(ring, samples, rate, block_size=400, speed=4.0, loop=True))
    qtbot.waitUntil(lambda: view.now_label.text() == f"tone_{freq_hz}hz", timeout=8000)
    # enough audio heard for the window and its context
    window_s = view.window_spin.value() or view.catalog.current.meta.clip_s
    qtbot.waitUntil(lambda: view.last_result.end_sample >= (window_s + CONTEXT_S) * view.sample_rate_hz, timeout=8000)


def _rows(folder):
    with open(folder / "data.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_w_keeps_the_answered_audio_as_a_labelled_clip_that_trains(qtbot, main_window, tmp_path):
    view = main_window.live_view
    panel = view.wrong_panel
    folder = corrections_folder(main_window.catalog.current.path)
    labels = main_window.catalog.current.meta.labels
    assert [panel.right_combo.itemData(i) for i in range(panel.right_combo.count())] == [None, *labels]
    marked = 0
    for session in ("live-a", "live-b", "live-c"):
        panel.session = session
        for freq, right in ((2000, "tone_1000hz"), (1000, None)):
            _listen(qtbot, view, freq)
            panel.right_combo.setCurrentIndex(0 if right is None else labels.index(right) + 1)
            view.setFocus()
            with qtbot.waitSignal(panel.marked, timeout=3000) as blocker:
                qtbot.keyClick(view, Qt.Key_W)                       # the key, as the tab receives it
            marked += 1
            correction = blocker.args[0]
            assert correction.answered == f"tone_{freq}hz" and correction.label == (right or BACKGROUND)
            audio, rate = sf.read(correction.path, dtype="float32")
            window_s = view.window_spin.value() or main_window.catalog.current.meta.clip_s
            assert rate == view.sample_rate_hz and len(audio) == round((window_s + CONTEXT_S) * rate)
            assert abs(np.argmax(np.abs(np.fft.rfft(audio))) * rate / len(audio) - freq) < 20   # the heard tone
            view.stop()
    rows = _rows(folder)
    assert len(rows) == marked == 6
    assert sorted({r["group"] for r in rows}) == ["live-a", "live-b", "live-c"]
    assert sorted({r["label"] for r in rows}) == sorted([BACKGROUND, "tone_1000hz"])

    from gui.wizard import open_wizard

    wizard = open_wizard(main_window, job_overrides={"workers": 1})
    qtbot.addWidget(wizard)
    page = wizard.data_page
    page._update_corrections_menu()
    actions = [a for a in page.corrections_menu.actions() if a.isEnabled()]
    assert len(actions) == 1 and "6 clip(s)" in actions[0].text()
    actions[0].trigger()
    assert page.isComplete(), page.error_label.text()
    wizard.close()

    pytest.importorskip("torch")
    from trainer import api

    result = api.train(api.TrainRequest(data=str(folder / "data.csv"), out=str(tmp_path / "run"), epochs=1,
                                        seeds=(1,), batch_size=4, n_mels=16, workers=1, refit=False,
                                        val_fraction=0.3, test_fraction=0.3))
    assert result.model_path.is_file() and set(result.metrics["labels"]) == {BACKGROUND, "tone_1000hz"}
