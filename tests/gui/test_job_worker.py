"""The one worker adapter: engine.jobs jobs in a QThread, past-tense signals in the GUI thread,
progress throttled to about 10 Hz without losing stage changes, and a registry that keeps
every running thread referenced."""

from __future__ import annotations

import gc
import threading
import time

import pytest

from engine.errors import AudioLoadError
from engine.jobs import JobWarning, Progress
from gui.workers.job_worker import JobWorker, call_job
from gui.workers.registry import workers


def test_finished_failed_and_cancelled_reach_the_gui_thread(qtbot):
    gui_thread = threading.current_thread()
    seen = []

    def ok(request, *, on_progress, cancel):
        on_progress(Progress("work", 1, 2, "half"))
        return request * 2

    worker = JobWorker(ok, 21, what="Doubling")
    for name in ("progressed", "finished", "failed", "cancelled", "ended"):
        getattr(worker, name).connect(lambda *args, n=name: seen.append((n, threading.current_thread(), args)))
    with qtbot.waitSignal(worker.ended, timeout=5000):
        worker.start()
    assert [n for n, _t, _a in seen] == ["progressed", "finished", "ended"]
    assert all(t is gui_thread for _n, t, _a in seen)
    assert seen[1][2] == (42,) and worker.isFinished() and not worker.is_running()

    def bad(_request, *, on_progress, cancel):
        raise AudioLoadError("/data/x.wav: not a sound file")

    failing = JobWorker(bad, what="Loading")
    with qtbot.waitSignal(failing.failed, timeout=5000) as blocker:
        failing.start()
    assert blocker.args == ["/data/x.wav: not a sound file"]

    def bug(_request, *, on_progress, cancel):
        raise ZeroDivisionError("oops")

    buggy = JobWorker(bug, what="Dividing")
    with qtbot.waitSignal(buggy.failed, timeout=5000) as blocker:
        buggy.start()
    assert blocker.args[0] == "Dividing failed: ZeroDivisionError: oops"

    def patient(_request, *, on_progress, cancel):
        while not cancel.wait(0.01):
            pass
        cancel.raise_if_cancelled("the patient job")

    stopping = JobWorker(patient)
    stopping.start()
    with qtbot.waitSignal(stopping.cancelled, timeout=5000) as blocker:
        stopping.cancel()
    assert blocker.args == ["the patient job was cancelled"]


def test_progress_is_throttled_but_stages_and_warnings_are_never_lost(qtbot):
    def chatty(_request, *, on_progress, cancel):
        for stage in ("a", "b"):
            started = time.monotonic()
            i = 0
            while time.monotonic() - started < 0.6:   # thousands of reports in 0.6 s
                on_progress(Progress(stage, i, 0, fraction=i / 1e6))
                i += 1
            on_progress(Progress(stage, i, 0, warnings=(JobWarning("w", f"end of {stage}"),)))
        return i

    worker = JobWorker(chatty)
    got: list[Progress] = []
    worker.progressed.connect(got.append)
    with qtbot.waitSignal(worker.finished, timeout=10000) as blocker:
        worker.start()
    assert blocker.args[0] > 1000
    assert 4 <= len(got) <= 40, f"{len(got)} reports reached the GUI in 1.2 s"   # ~10 Hz, not thousands
    stages = [p.stage for p in got]
    assert stages == sorted(stages) and {"a", "b"} <= set(stages)                   # in order, both stages
    assert [p.warnings[0].message for p in got if p.warnings] == ["end of a", "end of b"]
    steps_a = [p.step for p in got if p.stage == "a"]
    assert steps_a == sorted(steps_a)                                             # never backwards


def test_a_worker_dropped_by_its_owner_is_kept_until_its_thread_ends(qtbot):
    began, release = threading.Event(), threading.Event()

    def stubborn(_request, *, on_progress, cancel):
        began.set()
        release.wait(10)      # ignores cancel: one long step
        return "done"

    ended = []
    worker = JobWorker(stubborn, what="Stubborn")
    worker.ended.connect(lambda: ended.append(True))
    worker.start()
    assert began.wait(5)
    assert not worker.close(0.05)                       # overran the limit
    assert workers.describe() == "Stubborn"
    del worker
    gc.collect()                                        # nobody holds it but the registry
    assert len(workers.running()) == 1
    release.set()
    qtbot.waitUntil(lambda: bool(ended), timeout=5000)  # it ended in peace and said so
    assert workers.running() == []


def test_the_registry_stops_only_the_owners_jobs(qtbot):
    def patient(_request, *, on_progress, cancel):
        while not cancel.wait(0.01):
            pass

    mine, theirs = object(), object()
    a = JobWorker(patient, what="Mine", owner=mine).start()
    b = JobWorker(patient, what="Theirs", owner=theirs, confirm_quit=True).start()
    assert workers.describe(confirm_only=True) == "Theirs"
    assert workers.stop(5.0, owner=mine) == []
    assert not a.is_running() and b.is_running()
    assert workers.stop(5.0) == []
    assert not b.is_running()
    qtbot.waitUntil(lambda: a.outcome is not None and b.outcome is not None, timeout=5000)


def test_a_worker_runs_once(qtbot):
    worker = JobWorker(call_job(lambda: 1))
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start()
    with pytest.raises(RuntimeError, match="runs once"):
        worker.start()


def test_task_worker_keeps_the_qthread_style_api_on_the_job_worker(qtbot):
    from gui.workers.task import TaskWorker

    events = []
    worker = TaskWorker(lambda: 7, what="Seven")
    worker.completed.connect(lambda value: events.append(("completed", value)))
    worker.finished.connect(lambda: events.append(("finished",)))
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start()
    assert events == [("completed", 7), ("finished",)]
    assert worker.wait(1000) and worker.isFinished() and not worker.isRunning()

    def boom():
        raise ValueError("bad value")

    failing = TaskWorker(boom, what="Booming")
    with qtbot.waitSignal(failing.failed, timeout=5000) as blocker:
        failing.start()
    assert blocker.args == ["Booming failed: ValueError: bad value"]
    assert failing.close(1000)


def test_joins_inside_a_deadline_share_it(qtbot):
    release = threading.Event()

    def stubborn(_request, *, on_progress, cancel):
        release.wait(10)

    jobs = [JobWorker(stubborn, what=f"Stubborn {i}").start() for i in range(3)]
    started = time.monotonic()
    with workers.deadline(0.3):
        ended = [job.close(5.0) for job in jobs]       # each would wait 5 s on its own
        still = workers.join(5.0)
    assert time.monotonic() - started < 1.5 and ended == [False] * 3 and len(still) == 3
    release.set()
    qtbot.waitUntil(lambda: all(job.outcome is not None for job in jobs), timeout=5000)
    assert workers.running() == []
