"""The one job contract: progress, cooperative cancel, errors as values."""

from __future__ import annotations

import threading

import pytest

from engine.errors import AudioLoadError
from engine.jobs import Cancelled, CancelToken, JobWarning, Progress, run_job


def _counting_job(request, *, on_progress, cancel):
    for i in range(request["n"]):
        cancel.raise_if_cancelled("counting")
        on_progress(Progress("count", i + 1, request["n"], fraction=(i + 1) / request["n"],
                             warnings=(JobWarning("odd", f"{i} is odd"),) if i % 2 else ()))
        if request.get("cancel_at") == i:
            cancel.cancel()
    return request["n"]


def test_finished_job_returns_its_value_and_reports_progress():
    seen: list[Progress] = []
    outcome = run_job(_counting_job, {"n": 4}, on_progress=seen.append)
    assert outcome.ok and outcome.value == 4
    assert [p.step for p in seen] == [1, 2, 3, 4]
    assert seen[-1].fraction == 1.0 and seen[1].stage_fraction == 0.5
    assert [w.code for p in seen for w in p.warnings] == ["odd", "odd"]


def test_cancelled_job_is_a_value_not_an_exception():
    outcome = run_job(_counting_job, {"n": 10, "cancel_at": 2})
    assert outcome.status == "cancelled" and "counting was cancelled" in outcome.message
    assert isinstance(outcome.error, Cancelled)


def test_earmark_error_is_shown_as_is_and_a_bug_names_its_type():
    def bad_file(_r, *, on_progress, cancel):
        raise AudioLoadError("x.wav: not a readable audio file")

    def bug(_r, *, on_progress, cancel):
        raise ZeroDivisionError("boom")

    assert run_job(bad_file, None).message == "x.wav: not a readable audio file"
    outcome = run_job(bug, None, what="Ranking")
    assert outcome.status == "failed" and outcome.message == "Ranking failed: ZeroDivisionError: boom"


def test_cancel_token_wakes_a_waiting_job_at_once():
    token = CancelToken()
    threading.Timer(0.05, token.cancel).start()
    assert token.wait(30.0) is True and token.cancelled and token.is_set()
    with pytest.raises(Cancelled):
        token.raise_if_cancelled()
