"""Run in a child process by ``test_slow_close.py``: stop or close while a job is slower than the limit.

``python -m tests.reliability.slow_close_probe SCENARIO WORKDIR`` prints one JSON line and exits 0
when the app ended normally. A QThread destroyed while running would abort the process
(exit 134, "QThread: Destroyed while thread is still running" on stderr) instead.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

SLOW_S = 1.5           # one slow step: longer than every (shortened) limit below
LIMIT_S = 0.3          # the stop / close limits, shortened so the test is quick
RATE_HZ = 16000


class SlowClassifier:
    """A real ONNX classifier whose every window takes ``SLOW_S`` (a model too big for the machine)."""

    def __init__(self, inner) -> None:
        self.inner, self.meta = inner, inner.meta
        self.busy = threading.Event()

    def classify(self, samples):
        self.busy.set()
        time.sleep(SLOW_S)
        return self.inner.classify(samples)

    def windows(self, samples, hop_s):
        return self.inner.windows(samples, hop_s)


def slow_job(_request, *, on_progress, cancel):
    """A job that notices a cancel only after ``SLOW_S`` (one long uninterruptible step)."""
    on_progress_started.set()
    deadline = time.monotonic() + 30.0
    while not cancel.cancelled and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(SLOW_S)
    cancel.raise_if_cancelled()   # engine.jobs and trainer.run.job tokens alike
    return None


on_progress_started = threading.Event()


class SlowPlan:
    def execute(self, *, on_progress, cancel):
        return slow_job(None, on_progress=on_progress, cancel=cancel)


def wait_until(app, condition, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def main(scenario: str, workdir: Path) -> dict:
    from PySide6.QtWidgets import QApplication

    import gui.live_view as live_view_module
    import gui.main_window as main_window_module
    from engine.live.sources import FileSource
    from engine.models.catalog import ModelCatalog
    from engine.models.classifier import OnnxClassifier
    from gui.main_window import MainWindow
    from gui.settings import Settings
    from gui.workers.registry import workers
    from tests.helpers_onnx import write_tone_model

    app = QApplication.instance() or QApplication([])
    live_view_module.STOP_TIMEOUT_S = LIMIT_S
    main_window_module.CLOSE_LIMIT_S = LIMIT_S
    model = write_tone_model(workdir / "models" / "tones.onnx", tones_hz=(300, 1000), clip_s=0.5)
    slow: list[SlowClassifier] = []

    def loader(path, threads=1):
        slow.append(SlowClassifier(OnnxClassifier.load(path, threads=threads)))
        return slow[-1]

    catalog = ModelCatalog([("shipped", model.parent)], threads=1, loader=loader)
    settings = Settings.at(workdir / "earmark.ini")
    settings.set("live/hop_s", 0.1)
    settings.set("record/folder", str(workdir / "recordings"))
    window = MainWindow(settings, catalog, use_audio_device=False)
    window.show()
    closed, asked = [], []
    window.closed.connect(lambda: closed.append(time.monotonic()))
    window.confirm_quit = lambda busy: asked.append(busy) or True
    out: dict = {"scenario": scenario}
    tone = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(RATE_HZ) / RATE_HZ)).astype(np.float32)

    # the window vets the models in the background: wait for the (slow) classifier to be current
    assert wait_until(app, lambda: catalog.classifier is not None and bool(slow), 30.0), "no model became current"

    def start_live():
        assert window.live_view.start(lambda ring, rate: FileSource(ring, tone, rate, block_size=800, loop=True),
                                      RATE_HZ)
        assert wait_until(app, lambda: slow[-1].busy.is_set(), 10.0), "inference never started"

    if scenario == "live-stop":
        start_live()
        messages = []
        window.live_view.status_message.connect(messages.append)
        started = time.monotonic()
        window.live_view.stop()
        out["stop_s"] = time.monotonic() - started
        out["stop_message"] = messages[-1] if messages else ""
        out["running_after_stop"] = len(workers.running())
    elif scenario == "close-recording":
        start_live()
        assert window.live_view.start_recording()
        recorder = window.live_view.recorder
        assert wait_until(app, lambda: recorder.n_samples_written > RATE_HZ // 4, 10.0), "nothing recorded"
        out["recording"] = str(recorder.path)
    elif scenario == "close-training":
        from gui.wizard.train_worker import TrainWorker

        worker = TrainWorker(SlowPlan())
        worker.start()
        assert wait_until(app, on_progress_started.is_set, 30.0), "training never started"
        del worker  # nobody but the registry holds it now
    elif scenario == "close-ranking":
        import gui.audit.ranking as ranking_module
        from engine.datasets.synth import write_emodb

        ranking_module.rank_suspects_job = slow_job
        ranking_module.CLOSE_TIMEOUT_S = LIMIT_S
        view = window.audit_view
        root = write_emodb(workdir / "emodb", n_speakers=2, sentences_per_speaker=2, seconds=0.3,
                           sample_rate_hz=8000, seed=0)
        view.open_dataset(root, "emodb")
        assert wait_until(app, lambda: view.session.base is not None, 20.0), "the data set never opened"
        assert view.rank_suspects() is not None
        assert wait_until(app, on_progress_started.is_set, 10.0), "ranking never started"
    else:
        raise SystemExit(f"unknown scenario {scenario}")

    started = time.monotonic()
    window.close()
    out["close_returned_s"] = time.monotonic() - started
    out["visible_after_first_close"] = window.isVisible()
    out["status"] = window.statusBar().currentMessage()
    out["tabs_enabled_while_waiting"] = window.tabs.isEnabled()
    out["asked"] = asked
    out["closed"] = wait_until(app, lambda: bool(closed), 30.0)
    out["closed_after_s"] = (closed[0] - started) if closed else None
    out["still_running"] = len(workers.running())
    if scenario == "close-recording":
        import soundfile as sf

        out["recorded_frames"] = sf.info(out["recording"]).frames
    window.deleteLater()
    app.processEvents()
    return out


if __name__ == "__main__":
    try:
        result = main(sys.argv[1], Path(sys.argv[2]))
    finally:  # a failed probe must not hang on its own running jobs
        from gui.workers.registry import workers as _workers

        _workers.stop(10.0)
    print(json.dumps(result), flush=True)
