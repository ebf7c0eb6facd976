"""Quitting during training, ranking or recording asks first; a confirmed quit cancels and joins
cleanly; a refused one changes nothing (issue 15, item 6)."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.live.sources import FileSource
from tests.conftest import sine


def _listen_and_record(qtbot, window, tmp_path):
    view = window.live_view
    view.folder_edit.setText(str(tmp_path / "recordings"))
    assert view.start(lambda ring, rate: FileSource(ring, sine(600, 1.0), rate, block_size=400, speed=4.0, loop=True))
    assert view.start_recording()
    recorder = view.recorder
    qtbot.waitUntil(lambda: recorder.n_samples_written > 4000, timeout=5000)
    return recorder


def _answer_the_question(button, seen: list) -> None:
    """Click ``button`` in the modal question once it shows (the real QMessageBox)."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(box.text())
            box.button(button).click()
        else:
            QTimer.singleShot(20, click)

    QTimer.singleShot(20, click)


def test_quitting_while_recording_asks_and_no_keeps_everything(qtbot, main_window, tmp_path):
    recorder = _listen_and_record(qtbot, main_window, tmp_path)
    seen: list[str] = []
    _answer_the_question(QMessageBox.StandardButton.No, seen)
    main_window.close()
    assert seen and "Recording is still running" in seen[0]
    assert main_window.isVisible() and recorder.recording and main_window.live_view.running
    written = recorder.n_samples_written
    qtbot.waitUntil(lambda: recorder.n_samples_written > written, timeout=5000)  # still recording

    asked = []
    main_window.confirm_quit = lambda busy: asked.append(busy) or True
    with qtbot.waitSignal(main_window.closed, timeout=10000):
        main_window.close()
    assert asked == ["Recording"]
    assert not recorder.recording and not main_window.live_view.running
    import soundfile as sf

    assert sf.info(recorder.path).frames == recorder.n_samples_written > 0


def test_quitting_when_idle_asks_nothing(qtbot, main_window):
    asked = []
    main_window.confirm_quit = lambda busy: asked.append(busy) or True
    main_window.live_view.start(lambda ring, rate: FileSource(ring, sine(300, 1.0), rate, loop=True))
    with qtbot.waitSignal(main_window.closed, timeout=10000):
        main_window.close()  # listening alone loses nothing
    assert asked == []


def test_quitting_while_ranking_asks_then_cancels_and_joins(qtbot, main_window, tmp_path, monkeypatch):
    import gui.audit.ranking as ranking
    from engine.datasets.synth import write_emodb

    started = threading.Event()

    def slow_rank(_request, *, on_progress, cancel):
        started.set()
        while not cancel.wait(0.02):
            pass
        cancel.raise_if_cancelled("ranking")

    monkeypatch.setattr(ranking, "rank_suspects_job", slow_rank)
    view = main_window.audit_view
    root = write_emodb(tmp_path / "emodb", n_speakers=2, sentences_per_speaker=2, seconds=0.3,
                       sample_rate_hz=8000, seed=0)
    with qtbot.waitSignal(view.opened, timeout=20000):
        view.open_dataset(root, "emodb")
    worker = view.rank_suspects()
    assert started.wait(5)
    main_window.confirm_quit = lambda busy: busy != "Ranking suspects"   # "No"
    main_window.close()
    assert main_window.isVisible() and worker.is_running()
    asked = []
    main_window.confirm_quit = lambda busy: asked.append(busy) or True
    with qtbot.waitSignal(main_window.closed, timeout=10000):
        main_window.close()
    assert asked == ["Ranking suspects"] and not worker.is_running()


def test_quitting_while_training_asks_then_cancels_and_joins(qtbot, main_window):
    pytest.importorskip("torch")
    from gui.wizard.train_worker import TrainWorker

    started = threading.Event()

    class Plan:
        def execute(self, *, on_progress, cancel):
            started.set()
            while not cancel.cancelled:     # the training job's token (trainer.run.job or engine.jobs)
                threading.Event().wait(0.02)
            cancel.raise_if_cancelled()

    worker = TrainWorker(Plan())
    worker.start()
    assert started.wait(30)
    asked = []
    main_window.confirm_quit = lambda busy: asked.append(busy) or True
    with qtbot.waitSignal(main_window.closed, timeout=15000):
        main_window.close()
    assert asked == ["Training"] and not worker.is_running()
