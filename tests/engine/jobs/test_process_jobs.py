"""engine.jobs.process: jobs of the engine.jobs contract run in a warm child process (spawned),
with progress, cancel, typed errors and crashes coming back as values."""

from __future__ import annotations

import os
import sys
import threading
import time

import numpy as np
import pytest

from engine.errors import AudioLoadError
from engine.jobs import Cancelled, CancelToken, run_job
from engine.jobs.process import JobProcessDied, ProcessRunner
from tests.engine.jobs.process_job_fixtures import Request, WeirdError

JOBS = "tests.engine.jobs.process_job_fixtures:"


@pytest.fixture
def runner():
    runner = ProcessRunner("The test job process", cancel_grace_s=1.0)
    yield runner
    runner.close(5.0)


def test_a_job_runs_in_a_warm_child_and_streams_its_progress(runner):
    seen = []
    value = runner.call(JOBS + "arrays", Request(n=4), on_progress=seen.append)
    assert value["pid"] != os.getpid() and value["pid"] == runner.pid
    np.testing.assert_array_equal(value["samples"], np.arange(4, dtype=np.float32))
    assert [(p.stage, p.step, p.total) for p in seen] == [("count", i, 4) for i in range(1, 5)]
    assert seen[0].warnings[0].message == "a warning" and seen[3].metrics == {"loss": 0.25}
    started = time.monotonic()
    assert runner.call(JOBS + "pid") == value["pid"]            # the same child: no second start-up
    assert time.monotonic() - started < 1.0


def test_the_child_is_spawned_not_forked(runner):
    import sys

    assert "_pytest" in sys.modules
    assert "_pytest" not in runner.call(JOBS + "modules")    # a forked child would have the parent's modules


def test_errors_come_back_with_their_type_and_message(runner):
    with pytest.raises(AudioLoadError) as info:
        runner.call(JOBS + "bad_file", Request(path="/data/x.wav"))
    assert str(info.value) == "/data/x.wav: not a WAV file"
    assert "bad_file" in "".join(info.value.__notes__)          # the child's traceback, for the log
    with pytest.raises(WeirdError) as info:                     # its constructor defeats pickle
        runner.call(JOBS + "weird", Request(path="/data/y.wav"))
    assert str(info.value) == "/data/y.wav: has no samples"
    with pytest.raises(ValueError, match="two classes"):
        runner.call(JOBS + "value_error")
    with pytest.raises(TypeError, match="could not be sent back"):
        runner.call(JOBS + "unpicklable_result")
    outcome = run_job(runner.job(JOBS + "bad_file"), Request(path="/a.wav"))
    assert outcome.status == "failed" and outcome.message == "/a.wav: not a WAV file"
    assert runner.call(JOBS + "pid") == runner.pid             # the child survived them all


def test_cancel_reaches_the_child_and_raises_cancelled(runner):
    token = CancelToken()
    threading.Timer(0.3, token.cancel).start()
    started = time.monotonic()
    with pytest.raises(Cancelled, match="waiting was cancelled"):
        runner.call(JOBS + "until_cancelled", on_progress=lambda p: None, cancel=token)
    assert time.monotonic() - started < 3.0
    first = runner.pid
    assert runner.call(JOBS + "pid") == first                  # a cooperative cancel keeps the child


def test_a_job_that_ignores_cancel_is_ended_with_its_process(runner):
    token = CancelToken()
    first = runner.call(JOBS + "pid")
    threading.Timer(0.3, token.cancel).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        runner.call(JOBS + "deaf", cancel=token)
    assert time.monotonic() - started < 4.0                    # 0.3 s + the 1 s grace + the stop
    assert runner.call(JOBS + "pid") != first                  # a fresh child took its place


@pytest.mark.parametrize(("job", "says"), [("segfault", "SIGSEGV"), ("killed", "SIGKILL")])
def test_a_child_that_dies_is_a_clear_error_never_a_hang(runner, job, says):
    started = time.monotonic()
    with pytest.raises(JobProcessDied, match=f"{says}.*while running {JOBS}{job}"):
        runner.call(JOBS + job)
    assert time.monotonic() - started < 10.0
    assert runner.call(JOBS + "pid") > 0                       # the next job gets a new child


def test_jobs_run_side_by_side_in_one_child(runner):
    token = CancelToken()
    waiting = threading.Thread(target=run_job, args=(runner.job(JOBS + "until_cancelled"), None),
                               kwargs={"cancel": token})
    waiting.start()
    try:
        assert runner.call(JOBS + "arrays", Request(n=2))["pid"] == runner.pid   # not queued behind it
    finally:
        token.cancel()
        waiting.join(5.0)
    assert not waiting.is_alive()


def test_stop_ends_a_busy_child_within_its_limit(runner):
    token = CancelToken()
    outcomes = []
    thread = threading.Thread(target=lambda: outcomes.append(run_job(runner.job(JOBS + "deaf"), None, cancel=token)))
    thread.start()
    runner.wait_ready()
    time.sleep(0.3)
    started = time.monotonic()
    token.cancel()
    assert runner.stop(0.5) is False                           # it did not quit: terminated
    assert time.monotonic() - started < 3.0
    thread.join(5.0)
    assert outcomes and outcomes[0].status == "cancelled"
    assert not runner.is_alive()


def test_start_up_time_is_measured(runner):
    started = runner.wait_ready()
    assert started is not None and 0 < started < 30


def test_a_job_may_start_processes_of_its_own(runner):
    assert runner.call(JOBS + "with_a_pool") == [1, 2]        # a daemonic child could not (cleanlab's pool)


def test_jobs_start_processes_with_the_platforms_default_method():
    import multiprocessing

    multiprocessing.set_start_method("spawn", force=True)      # whatever the parent chose, jobs get the default
    try:
        fresh = ProcessRunner("Another test job process")
        try:
            assert fresh.call(JOBS + "start_method") == ("fork" if sys.platform == "linux" else "spawn")
        finally:
            fresh.close()
    finally:
        multiprocessing.set_start_method(None, force=True)
