"""The threshold editor, and a class under its threshold shown as "nothing recognised" in the Live tab."""

from __future__ import annotations

import pytest

from engine.live.sources import FileSource
from engine.models.thresholds import load_user_thresholds
from tests.conftest import sine


@pytest.fixture(autouse=True)
def own_thresholds_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("EARMARK_THRESHOLDS_DIR", str(tmp_path / "thresholds"))


def _source(samples):
    return lambda ring, rate: FileSource(ring, samples, rate, block_size=400, speed=4.0, loop=True)


def test_a_threshold_set_in_the_editor_makes_live_say_nothing_recognised(qtbot, main_window):
    panel = main_window.models_panel
    current = main_window.catalog.current
    panel.list.setCurrentRow(main_window.catalog.entries.index(current))
    dialog = panel.edit_thresholds()
    qtbot.addWidget(dialog)
    assert [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())] == current.meta.labels
    assert dialog.table.item(0, 2).text() == "—"          # no fitted curve in this model: nothing implied
    dialog.spins["tone_2000hz"].setValue(1.0)
    dialog.save()
    saved = load_user_thresholds(current.path, current.meta.labels)
    assert saved.threshold("tone_2000hz") == 1.0 and current.classifier.thresholds.threshold("tone_2000hz") == 1.0

    view = main_window.live_view
    with qtbot.waitSignal(view.started, timeout=3000):
        assert view.start(_source(sine(2000, 2.0)))
    qtbot.waitUntil(lambda: view.now_label.text() == "nothing recognised", timeout=8000)
    assert "tone_2000hz" in view.now_label.toolTip() and "under its threshold" in view.now_label.toolTip()
    assert view.bars.labels()[0] == "tone_2000hz"           # the scores are still shown
    view.stop()
    with qtbot.waitSignal(view.started, timeout=3000):
        assert view.start(_source(sine(1000, 2.0)))
    qtbot.waitUntil(lambda: view.now_label.text() == "tone_1000hz", timeout=8000)
    view.stop()


def test_suggest_makes_no_segment_of_a_class_under_its_threshold(qtbot, catalog, settings, write_wav):
    import numpy as np

    from engine.annotations.regions import SUGGESTION
    from engine.models.thresholds import Thresholds, save_user_thresholds
    from gui.file.annotate_view import AnnotateView

    rate = 16000
    audio = np.zeros(12 * rate, dtype=np.float32)
    audio[2 * rate:4 * rate] = sine(1000, 2.0, rate)
    audio[7 * rate:9 * rate] = sine(2000, 2.0, rate)
    path = write_wav("rec.wav", audio, rate)
    view = AnnotateView(catalog, settings, use_audio_device=False)
    qtbot.addWidget(view)
    view.show()
    catalog.refresh()
    qtbot.waitUntil(lambda: catalog.settled, timeout=60_000)
    entry = next(e for e in catalog.entries if e.path.name == "tones.onnx")
    catalog.select(entry.path)
    with qtbot.waitSignal(view.range_shown, timeout=20_000):
        assert view.open_file(path)

    def suggested() -> list[str]:
        with qtbot.waitSignal(view.suggested, timeout=20_000):
            view.suggest()
        return sorted({r.label for r in view.track.regions if r.source == SUGGESTION})

    view.confidence_box.setValue(0.5)
    assert suggested() == ["tone_1000hz", "tone_2000hz"]
    entry.classifier.thresholds = Thresholds({"tone_2000hz": 1.0})   # as the editor sets it
    save_user_thresholds(entry.path, entry.classifier.thresholds)
    assert suggested() == ["tone_1000hz"]
    view.shutdown()
