"""Threads: switch models, record, close the window while workers run: no crash, no deadlock.

Every wait has a time limit, so a deadlock fails the test instead of hanging CI. Cancelling
training from another thread (``tests/trainer/run/test_job.py``) and closing the wizard while it
trains (``tests/gui/test_wizard_cancel.py``) are covered by those packages' own tests.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("PySide6")
pytest.importorskip("onnx")

from engine.live.sources import FileSource  # noqa: E402
from engine.models.catalog import ModelCatalog  # noqa: E402
from tests.helpers_onnx import tone_labels, write_tone_model  # noqa: E402

from .support import sine  # noqa: E402

pytestmark = pytest.mark.timeout(120)

RATE_HZ = 16000
TONES_A = (300, 600, 1000, 2000, 3500)
TONES_B = (400, 800, 1600)
JOIN_LIMIT_S = 5.0


@pytest.fixture
def two_models(tmp_path):
    folder = tmp_path / "models"
    a = write_tone_model(folder / "a.onnx", tones_hz=TONES_A, clip_s=0.5)
    b = write_tone_model(folder / "b.onnx", tones_hz=TONES_B, clip_s=0.5)
    return a, b


@pytest.fixture
def live_view(qtbot, tmp_path, two_models):
    from gui.live_view import LiveView
    from gui.settings import Settings

    catalog = ModelCatalog([("shipped", two_models[0].parent)], threads=1)
    catalog.select(two_models[0])
    settings = Settings.at(tmp_path / "earmark.ini")
    settings.set("live/hop_s", 0.1)
    settings.set("record/folder", str(tmp_path / "recordings"))
    view = LiveView(catalog, settings)
    qtbot.addWidget(view)
    yield view
    view.shutdown()


def tones(seconds: float) -> np.ndarray:
    parts = [sine(int(RATE_HZ * 0.5), RATE_HZ, freq_hz=f) for f in (*TONES_A, *TONES_B)]
    clip = np.concatenate(parts)
    return np.tile(clip, int(np.ceil(seconds * RATE_HZ / len(clip))))[: int(seconds * RATE_HZ)]


def file_source_factory(speed=4.0):
    return lambda ring, rate: FileSource(ring, tones(8.0), rate, block_size=512, speed=speed, loop=True)


def test_switching_models_while_the_live_worker_runs(qtbot, live_view, two_models):
    view = live_view
    failures, results = [], []
    view.failed.connect(failures.append)
    view.labelled.connect(results.append)
    assert view.start(file_source_factory(), RATE_HZ)
    worker = view.worker
    qtbot.waitUntil(lambda: len(results) >= 3, timeout=10_000)
    for i in range(20):  # switch back and forth while windows are being classified
        view.catalog.select(two_models[i % 2])
        qtbot.wait(30)
    final = two_models[1]
    view.catalog.select(final)
    switched_at = len(results)
    qtbot.waitUntil(lambda: any(r.labels == tone_labels(TONES_B) for r in results[switched_at:]), timeout=10_000)
    qtbot.wait(300)
    late = [r for r in results[-3:] if r.labels != tone_labels(TONES_B)]
    assert not late, "labels from the previous model after the switch settled"
    assert failures == []
    started = time.monotonic()
    view.stop()
    assert time.monotonic() - started < JOIN_LIMIT_S
    assert worker.isFinished()


def test_recording_while_switching_then_closing(qtbot, live_view, two_models, tmp_path):
    view = live_view
    assert view.start(file_source_factory(speed=2.0), RATE_HZ)
    assert view.start_recording()
    recorder = view.recorder
    for i in range(6):
        view.catalog.select(two_models[i % 2])
        qtbot.wait(50)
    qtbot.waitUntil(lambda: recorder.n_samples_written >= RATE_HZ // 2, timeout=10_000)
    worker = view.worker
    started = time.monotonic()
    view.shutdown()  # stops the recording, the worker and the source
    assert time.monotonic() - started < JOIN_LIMIT_S
    assert worker.isFinished() and not recorder.recording
    data, rate = sf.read(recorder.path, dtype="float32")
    assert rate == RATE_HZ and len(data) == recorder.n_samples_written > 0


def test_closing_the_main_window_while_workers_run(qtbot, tmp_path, two_models):
    from gui.main_window import MainWindow
    from gui.settings import Settings

    catalog = ModelCatalog([("shipped", two_models[0].parent)], threads=1)
    catalog.select(two_models[0])
    window = MainWindow(Settings.at(tmp_path / "earmark.ini"), catalog, use_audio_device=False)
    qtbot.addWidget(window)
    window.show()
    long_file = tmp_path / "long.wav"
    sf.write(long_file, tones(120.0), RATE_HZ)
    assert window.live_view.start(file_source_factory(), RATE_HZ)
    live_worker = window.live_view.worker
    window.file_view.open_file(long_file)
    qtbot.waitUntil(lambda: bool(window.file_view._workers), timeout=5_000)
    task_workers = list(window.file_view._workers)
    window.live_view.catalog.select(two_models[1])  # a switch in flight as the window closes
    started = time.monotonic()
    window.close()
    closed_s = time.monotonic() - started
    assert closed_s < 2 * JOIN_LIMIT_S, f"closing took {closed_s:.1f} s"
    assert live_worker.isFinished()
    assert all(w.isFinished() for w in task_workers if _alive(w))


def _alive(qobject) -> bool:
    """False when Qt has already deleted the C++ object (a finished worker it cleaned up)."""
    try:
        qobject.isFinished()
    except RuntimeError:
        return False
    return True


def test_a_model_switch_is_never_lost(qtbot, two_models):
    """Deterministic replay of a race (found here, fixed in b6ef682): a switch arrives while the worker
    is taking the previous one, between its pop() and clear()."""
    from engine.live.ringbuffer import RingBuffer
    from engine.live.stream import StreamingClassifier
    from engine.models.classifier import OnnxClassifier
    from gui.workers.live_worker import LiveWorker

    ring = RingBuffer(RATE_HZ * 4)
    source = FileSource(ring, tones(2.0), RATE_HZ)
    stream_a = StreamingClassifier(OnnxClassifier.load(two_models[0], threads=1), hop_s=0.1)
    stream_b = StreamingClassifier(OnnxClassifier.load(two_models[1], threads=1), hop_s=0.1)
    worker = LiveWorker(ring, source, None, poll_s=0.005)

    class SwitchDuringPop(list):
        def pop(self, *args):
            item = super().pop(*args)
            if item is stream_a:  # the GUI thread switches at this very moment (it may have to wait)
                gui = threading.Thread(target=worker.set_stream, args=(stream_b,))
                gui.start()
                gui.join(0.5)
            return item

    worker._pending_stream = SwitchDuringPop([stream_a])
    worker.start()
    try:
        qtbot.waitUntil(lambda: worker._stream is not None, timeout=5_000)
        qtbot.wait(100)
        assert worker._stream is stream_b, "the newest model switch was dropped"
    finally:
        assert worker.stop(JOIN_LIMIT_S)


def test_file_view_shows_the_current_models_result_after_a_switch(qtbot, tmp_path):
    """A slow classification by the previous model must not overwrite the current model's result
    (found here, fixed in f73b521)."""
    from gui.file_view import FileView
    from gui.settings import Settings

    folder = tmp_path / "models"
    slow = write_tone_model(folder / "slow.onnx", tones_hz=tuple(range(200, 4200, 100)), clip_s=2.0)
    fast = write_tone_model(folder / "fast.onnx", tones_hz=TONES_B, clip_s=0.5)
    catalog = ModelCatalog([("shipped", folder)], threads=1)
    catalog.select(slow)
    settings = Settings.at(tmp_path / "earmark.ini")
    settings.set("file/hop_s", 0.05)
    view = FileView(catalog, settings, use_audio_device=False)
    qtbot.addWidget(view)
    path = tmp_path / "long.wav"
    sf.write(path, tones(40.0), RATE_HZ)
    shown = []
    view.classified.connect(shown.append)
    try:
        with qtbot.waitSignal(view.loaded, timeout=20_000):
            view.open_file(path)
        catalog.select(fast)  # the slow model's classification is still running
        qtbot.waitUntil(lambda: bool(shown) and not view._workers, timeout=60_000)  # both classifications ended
        assert view.predictions.model_name == catalog.current.name, (
            f"showing {view.predictions.model_name!r} while {catalog.current.name!r} is selected")
    finally:
        view.shutdown()
