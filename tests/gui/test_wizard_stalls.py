"""The wizard's half of issue 11's "Done when" 5: the GUI thread never stalls for long while a
person opens the training wizard and previews augmentations (the same event-loop heartbeat as
tests/gui/test_gui_stalls.py, the same limit). tests/gui/test_wizard_open.py measures the
opening in a fresh interpreter too, where torch is not loaded yet."""

from __future__ import annotations

import pytest

from engine.datasets.synth import write_emodb
from tests.gui.heartbeat import Heartbeat
from tests.gui.test_gui_stalls import STALL_LIMIT_S

pytest.importorskip("torch")
VARIANTS = ("noise", "pitch_shift", "time_stretch", "reverb", "gain")


def test_opening_the_wizard_and_previewing_augmentations_never_stalls(qtbot, tmp_path, monkeypatch):
    from gui.wizard.wizard import TrainWizard

    monkeypatch.setenv("EARMARK_RUNS_DIR", str(tmp_path / "runs"))
    data = write_emodb(tmp_path / "emodb", n_speakers=4, sentences_per_speaker=3, seconds=2.0,
                       sample_rate_hz=16000, seed=2)
    beat = Heartbeat()
    with beat.phase("wizard: open"):
        wizard = TrainWizard(None)
        qtbot.addWidget(wizard)
        wizard.show()
        qtbot.waitUntil(wizard.model_page.ready, timeout=120_000)     # torch loaded in the worker
    try:
        with beat.phase("wizard: data and split"):
            assert wizard.data_page.choose(data)
            wizard.next()
            qtbot.waitUntil(wizard.split_page.isComplete, timeout=30_000)
            wizard.next()
        page = wizard.augment_page
        for name in VARIANTS:
            page.editor(name).setChecked(True)
        with beat.phase("wizard: preview augmentations"):
            page.preview_button.click()
            qtbot.waitUntil(lambda: not page.busy() and len(page.rows) == 1 + len(VARIANTS), timeout=60_000)
            qtbot.wait(200)             # the rows' last repaint happens in this phase
        with beat.phase("wizard: another draw"):
            page.redraw_button.click()
            qtbot.waitUntil(lambda: not page.busy(), timeout=60_000)
            qtbot.wait(200)
    finally:
        wizard.close()
    print(beat.report())
    assert [r.play_button.text()[2:] for r in page.rows] == ["original", *VARIANTS]
    assert beat.longest_s() < STALL_LIMIT_S, beat.report()
