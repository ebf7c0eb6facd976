"""The app starts whatever sits in the model folders, remembers the chosen model, and lets a
person remove broken entries; the Models panel shows metadata as text, not JSON."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QTimer

from engine.jobs import sandbox
from engine.models.catalog import ModelCatalog
from engine.models.metadata import build_metadata
from tests.helpers_onnx import (
    expanding_model_proto,
    loop_bomb_proto,
    slow_model_proto,
    tone_labels,
    write_proto,
    write_tone_model,
)

pytestmark = pytest.mark.timeout(240)


class Heartbeat:
    """A 20 ms timer on the GUI thread; ``longest_gap_s`` is the worst stall it saw."""

    def __init__(self):
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._tick)
        self.last = None
        self.longest_gap_s = 0.0
        self.ticks = 0

    def start(self):
        self.last = time.monotonic()
        self.timer.start()

    def _tick(self):
        now = time.monotonic()
        self.longest_gap_s = max(self.longest_gap_s, now - self.last)
        self.last = now
        self.ticks += 1

    def stop(self):
        self.timer.stop()


def test_the_app_starts_with_hostile_models_in_the_user_folder(qtbot, tmp_path, monkeypatch):
    import sys
    import threading

    from PySide6.QtCore import QSettings

    from gui import app as app_module

    folder = tmp_path / "user models"
    write_proto(loop_bomb_proto(), folder / "loop_bomb.onnx")
    write_proto(expanding_model_proto(), folder / "expands.onnx")
    write_proto(slow_model_proto(), folder / "never_finishes.onnx")
    write_tone_model(folder / "tones.onnx")
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    monkeypatch.setenv("EARMARK_USER_MODELS", str(folder))
    monkeypatch.setenv("EARMARK_MODEL_BUDGET_S", "4")
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    window = app_module.start([])
    qtbot.addWidget(window)
    assert window.isVisible() and not window.catalog.settled  # shown before any model was vetted
    beat = Heartbeat()
    beat.start()
    painted = []
    counter = _PaintCounter(painted)  # kept referenced: an event filter must outlive the wait
    window.models_panel.list.viewport().installEventFilter(counter)
    qtbot.waitUntil(lambda: window.catalog.settled, timeout=120_000)
    beat.stop()
    entries = {e.name: e for e in window.catalog.entries}
    assert "uses Loop" in entries["loop_bomb"].error
    assert "memory on its first run" in entries["expands"].error
    assert "did not answer within 4 s" in entries["never_finishes"].error
    assert all(str(folder) in entries[n].error for n in ("loop_bomb", "expands", "never_finishes"))
    assert entries["tones"].usable and window.catalog.current is not None
    texts = [window.models_panel.list.item(i).text() for i in range(window.models_panel.list.count())]
    assert any("never_finishes" in t and "⚠" in t for t in texts)
    print(f"longest GUI stall while vetting: {beat.longest_gap_s * 1000:.0f} ms over {beat.ticks} ticks")
    assert beat.longest_gap_s < 1.0 and beat.ticks > 50
    assert painted, "the models list never repainted while the models were vetted"
    window.close()
    assert sandbox.running() == 0


class _PaintCounter:
    def __new__(cls, sink):
        from PySide6.QtCore import QEvent, QObject

        class Counter(QObject):
            def eventFilter(self, obj, event):  # noqa: N802 - Qt API
                if event.type() == QEvent.Type.Paint:
                    sink.append(time.monotonic())
                return False

        return Counter()


def _window(qtbot, settings, folder):
    from gui.main_window import MainWindow

    window = MainWindow(settings, ModelCatalog([("shipped", folder)], threads=1), use_audio_device=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: getattr(window.catalog, "settled", True) and window.catalog.current is not None,
                    timeout=60_000)
    return window


def test_the_model_chosen_in_one_run_is_the_model_of_the_next(qtbot, tmp_path):
    from gui.settings import Settings

    folder = tmp_path / "models"
    write_tone_model(folder / "a_first.onnx")
    write_tone_model(folder / "b_chosen.onnx", tones_hz=(400, 800))
    ini = tmp_path / "earmark.ini"
    first = _window(qtbot, Settings.at(ini), folder)
    assert first.catalog.current.name == "a_first"  # nothing saved yet: the first usable
    panel = first.models_panel
    panel.list.setCurrentRow(1)
    panel.use_selected()
    assert first.catalog.current.name == "b_chosen"
    first.close()
    second = _window(qtbot, Settings.at(ini), folder)  # a new settings object over the same file
    assert second.catalog.current.name == "b_chosen"
    assert "Model: b_chosen" in second.model_status.text()
    second.close()
    assert Settings.at(ini).get("models/current").endswith("b_chosen.onnx")


def test_broken_entries_can_be_removed_and_metadata_reads_as_text(qtbot, main_window, tmp_path):
    panel = main_window.models_panel
    names = [e.name for e in main_window.catalog.entries]
    broken = names.index("zz_no_metadata")
    panel.list.setCurrentRow(broken)
    assert panel.remove_button.isEnabled()
    panel.remove_button.click()
    assert "zz_no_metadata" not in [e.name for e in main_window.catalog.entries]
    assert all("zz_no_metadata" not in panel.list.item(i).text() for i in range(panel.list.count()))
    panel.list.setCurrentRow(0)
    assert not panel.remove_button.isEnabled()  # the model in use is not removed
    meta = build_metadata(labels=tone_labels((500, 1500)), sample_rate_hz=16000, clip_s=1.0,
                          architecture="resnet18", training_data={"name": "ESC-50", "n_clips": 400},
                          metrics={"accuracy": {"mean": 0.91234, "std": 0.01},
                                   "per_class_recall": {"tone_500hz": 0.9, "tone_1500hz": 0.8},
                                   "confusion_matrix": [[9, 1], [2, 8]]},
                          split={"val_groups": ["s1", "s2"], "leakage": 0}, seeds=[42, 123])
    path = write_tone_model(tmp_path / "nested.onnx", tones_hz=(500, 1500), metadata=meta)
    panel.add_model(path)
    text = panel.details.toPlainText()
    assert "{" not in text and '":' not in text and "[[" not in text
    assert "per class recall" in text and "0.9123" in text and "9 1; 2 8" in text and "s1, s2" in text


def test_adding_a_never_finishing_model_from_the_dialog_keeps_the_window_live(qtbot, main_window, tmp_path,
                                                                              monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setenv("EARMARK_MODEL_BUDGET_S", "3")
    path = write_proto(slow_model_proto(), tmp_path / "never_finishes.onnx")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), "ONNX models (*.onnx)"))
    before = main_window.catalog.current
    beat = Heartbeat()
    beat.start()
    main_window.models_panel._on_add_clicked()
    entry = main_window.catalog.find(path)
    assert entry is not None and entry.pending  # listed at once, vetted off the GUI thread
    qtbot.waitUntil(lambda: not entry.pending, timeout=60_000)
    beat.stop()
    assert "did not answer within 3 s" in entry.error and main_window.catalog.current is before
    assert beat.longest_gap_s < 1.0, beat.longest_gap_s
