"""The Audit tab's Qt-free state: open a real data set (as a job), select, edit, rank, export."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from engine.datasets.manifest import read_manifest
from engine.datasets.session import DatasetSession, OpenRequest, open_dataset_job
from engine.datasets.synth import write_emodb
from engine.errors import ManifestError
from engine.jobs import Cancelled, CancelToken, run_job


@pytest.fixture
def emodb(tmp_path):
    return write_emodb(tmp_path / "emodb", n_speakers=2, sentences_per_speaker=2, seconds=0.3,
                       sample_rate_hz=8000, seed=0)


def test_open_select_edit_and_export(emodb, tmp_path):
    reports = []
    opened = open_dataset_job(OpenRequest(emodb, "emodb"), on_progress=reports.append)
    assert len(opened.clips) == 28 and all(c.duration_s == pytest.approx(0.3) for c in opened.clips)
    assert reports[0].stage == "read" and reports[-1].stage == "durations"
    session, events = DatasetSession(), []
    for event in ("opened", "edited", "ranked", "selected"):
        session.subscribe(event, lambda payload, e=event: events.append((e, payload)))
    session.adopt(opened)
    assert events == [("opened", session)] and "neutral" in session.labels
    key = opened.clips[0].key
    session.select(key)
    session.select(key)                       # no event when nothing changed
    session.select("not/a/clip.wav")          # an unknown key selects nothing
    assert [e for e, _ in events] == ["opened", "selected", "selected"] and session.current_key is None
    session.select(key)
    before = session.label_of(key)
    other = next(label for label in session.labels if label != before)
    change = session.relabel(other)
    assert events[-1] == ("edited", change) and session.label_of(key) == other
    assert session.class_counts()[other] == sum(c.label == other for c in opened.base.clips) + 1
    session.toggle_flag()
    assert session.flags_of(key) == ("doubtful",)
    assert session.undo().action == "unflag" and session.can_redo
    written = session.export_csv(tmp_path / "corrected.csv")
    relabelled = {c.path.name: c.label for c in read_manifest(written, "csv").clips}
    assert relabelled[opened.clips[0].path.name] == other


def test_a_ranking_becomes_suspicion_in_the_sessions_label_order(emodb):
    session = DatasetSession()
    session.open(emodb, "emodb")
    keys = [c.key for c in session.clips]
    names = ["neutral", "anger"]               # the ranking's own class order
    probs = np.tile([0.9, 0.1], (len(keys), 1))
    result = SimpleNamespace(keys=keys, class_names=names, pred_probs=probs, is_issue=np.arange(len(keys)) == 0,
                             rank_of=lambda: np.arange(1, len(keys) + 1))
    session.set_ranking(result)
    s = session.suspicion[keys[0]]
    assert s.rank == 1 and s.is_issue and s.probs[session.labels.index("neutral")] == pytest.approx(0.9)
    assert session.predicted(keys[0])[0] == "neutral" and session.result_index(keys[3]) == 3


def test_opening_is_cancellable_and_errors_name_the_folder(emodb, tmp_path):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        open_dataset_job(OpenRequest(emodb, "emodb"), cancel=token)
    outcome = run_job(open_dataset_job, OpenRequest(tmp_path / "missing", "emodb"))
    assert outcome.status == "failed" and "missing" in outcome.message
    with pytest.raises(ManifestError):
        DatasetSession().open(tmp_path / "missing", "emodb")
    with pytest.raises(ValueError, match="unknown event"):
        DatasetSession().subscribe("clicked", print)


def test_what_the_reader_left_out_is_said(emodb):
    from engine.datasets.edits import EDITS_FILENAME

    (emodb / "wav" / "._03a01Wa.wav").write_bytes(b"\0\5\26\7 AppleDouble")   # a macOS resource file
    (emodb / EDITS_FILENAME).write_text("{ not json")                           # a damaged edits file
    opened = open_dataset_job(OpenRequest(emodb, "emodb"))
    text = " ".join(w.message for w in opened.warnings)
    assert EDITS_FILENAME in text and len(opened.warnings) >= 2, text
    session = DatasetSession()
    session.adopt(opened)
    assert session.warnings == opened.warnings
