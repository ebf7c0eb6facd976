"""The loop's engine half on a real index of real WAVs: windows labelled into sidecars (relabel,
background, two editors at once), the label session's writer, the data set, the re-score."""

from __future__ import annotations

import csv
import shutil

import pytest

from engine.annotations.regions import RegionTrack
from engine.errors import EarmarkError
from engine.index.build import IndexRequest, index_job
from engine.index.labelling import (
    BACKGROUND,
    DatasetRequest,
    RescoreRequest,
    dataset_job,
    label_window,
    labelled_rows,
    rescore_job,
    window_of_row,
)
from engine.index.search import Index
from engine.index.session import QUEUE, LabelSession
from tests.engine.index.helpers import (
    BURST_S,
    HIGH_AT_S,
    LOW_AT_S,
    NAMES,
    SR,
    shift_s,
    write_folder,
    write_model,
    write_recording,
)
from tests.helpers_onnx import write_tone_model


@pytest.fixture
def indexed(tmp_path):
    root, model = write_folder(tmp_path / "recordings"), write_model(tmp_path / "tones.onnx")
    index_job(IndexRequest(root, model, out=tmp_path / "idx"))
    return root, tmp_path / "idx"


def _labels(root, name):
    return sorted((r.start_s, r.end_s, r.label) for r in RegionTrack.open(root / name).accepted())


def test_labelling_writes_relabels_and_marks_background_in_the_sidecar(indexed):
    root, idx = indexed
    index = Index(idx)
    start = LOW_AT_S + shift_s(1)
    label_window(index, "r1.wav", start, start + BURST_S, "low")
    assert _labels(root, "r1.wav") == [(start, start + BURST_S, "low")]
    label_window(index, "r1.wav", start, start + BURST_S, "hum")            # relabel: one region, new label
    assert _labels(root, "r1.wav") == [(start, start + BURST_S, "hum")]
    row = int(index.rows_in("sub/r3.wav", 0.0, 0.5)[0])
    label_window(index, *window_of_row(index, row), BACKGROUND)
    assert _labels(root, "sub/r3.wav") == [(0.0, 0.5, "background")]
    assert labelled_rows(index)[row] == "background"
    with pytest.raises(EarmarkError, match="not a recording"):
        label_window(index, "nope.wav", 0, 1, "x")


def test_two_editors_of_one_recording_lose_nothing(indexed):
    root, idx = indexed
    index = Index(idx)
    annotate_tab = RegionTrack.open(root / "r2.wav")            # the Annotate tab's track, opened first
    tracks: dict = {}
    label_window(index, "r2.wav", 1.0, 1.5, "a", tracks=tracks)
    annotate_tab.add(3.0, 3.5, "b")                               # its edit after the loop's write
    label_window(index, "r2.wav", 5.0, 5.5, "c", tracks=tracks)   # the loop's track catches up first
    assert [r[2] for r in _labels(root, "r2.wav")] == ["a", "b", "c"]


def test_the_session_writes_labels_in_order_off_the_calling_thread(indexed):
    root, idx = indexed
    session = LabelSession.open(idx)
    example = ("r0.wav", LOW_AT_S, LOW_AT_S + BURST_S)
    hits = session.more_like_this(*example, top=5)
    session.set_items(hits, query_label="low", query=example)
    saved = []
    session.events.subscribe("saved", saved.append)
    session.accept()
    session.accept()
    session.background()
    session.label(0, "lower", advance=False)                     # a relabel right after: saved after "low"
    session.flush(10)
    assert session.current == 3 and len(saved) == 4
    first = hits[0]
    assert _labels(root, first.recording) == [(first.start_s, first.end_s, "lower")]
    assert _labels(root, hits[2].recording)[0][2] == BACKGROUND
    assert {hits[0].row, hits[1].row, hits[2].row} <= set(labelled_rows(session.index))
    page = session.queue_page(6)
    assert len(page) == 6 and not {hits[0].row, hits[1].row, hits[2].row} & {i.row for i in page}
    session.set_items(page, QUEUE)
    assert session.default_label() == page[0].answer
    session.label(0, BACKGROUND)                                  # one labelled, five left unlabelled
    session.flush(10)
    second = session.queue_page(6, skip_rows=session.seen_rows)   # the next page: none of the first's
    assert len(second) == 6 and not {i.row for i in page} & {i.row for i in second}
    session.set_items(second, QUEUE, page=1)
    assert session.seen_rows == {i.row for i in page + second}
    session.set_items(page[1:], QUEUE, page=0)                    # the first page again: seen starts over
    assert session.seen_rows == {i.row for i in page[1:]}
    session.close()


def test_the_labelled_regions_become_a_data_set_grouped_by_recording(indexed, tmp_path):
    root, idx = indexed
    index = Index(idx)
    with pytest.raises(EarmarkError, match="no recording"):
        dataset_job(DatasetRequest(idx, tmp_path / "ds"))
    for i, name in enumerate(NAMES[:4]):
        label_window(index, name, LOW_AT_S + shift_s(i), LOW_AT_S + shift_s(i) + BURST_S, "low")
        label_window(index, name, HIGH_AT_S + shift_s(i), HIGH_AT_S + shift_s(i) + BURST_S, BACKGROUND)
    result = dataset_job(DatasetRequest(idx, tmp_path / "ds"))
    rows = list(csv.DictReader(result.csv_path.open()))
    assert len(rows) == 8 and {r["label"] for r in rows} == {"low", "background"}
    assert {r["group"] for r in rows} == {"r0", "r1", "r2", "sub/r3"}   # a recording's path under the folder
    assert all((tmp_path / "ds" / r["path"]).is_file() for r in rows)


def test_recordings_of_one_name_in_two_folders_are_two_groups_with_their_own_labels(tmp_path):
    """A folder tree by day (``mon/rec.wav``, ``tue/rec.wav``): each recording keeps its own labels
    and its own group (matched by name, both sidecars landed on one recording, or were refused)."""
    root = tmp_path / "days"
    write_recording(root / "mon" / "rec.wav", 0)
    write_recording(root / "tue" / "rec.wav", 1)
    index_job(IndexRequest(root, write_model(tmp_path / "tones.onnx"), out=tmp_path / "idx"))
    index = Index(tmp_path / "idx")
    label_window(index, "mon/rec.wav", LOW_AT_S, LOW_AT_S + BURST_S, "low")
    label_window(index, "tue/rec.wav", HIGH_AT_S + shift_s(1), HIGH_AT_S + shift_s(1) + BURST_S, "high")
    label_window(index, "tue/rec.wav", 0.0, 0.5, BACKGROUND)
    result = dataset_job(DatasetRequest(tmp_path / "idx", tmp_path / "ds"))
    rows = list(csv.DictReader(result.csv_path.open()))
    assert sorted((r["group"], r["label"], float(r["start_s"])) for r in rows) == [
        ("mon/rec", "low", LOW_AT_S), ("tue/rec", "background", 0.0), ("tue/rec", "high", HIGH_AT_S + shift_s(1))]
    assert len({(tmp_path / "ds" / r["path"]).parent for r in rows}) == 2   # a clip folder per recording


def test_rescoring_makes_a_new_index_with_the_new_models_labels(indexed, tmp_path):
    _root, idx = indexed
    new_model = write_tone_model(tmp_path / "new.onnx", sample_rate_hz=SR, clip_s=0.5, tones_hz=(300, 2000),
                                 with_embedding=True)
    with pytest.raises(EarmarkError, match="new index"):
        rescore_job(RescoreRequest(idx, new_model, out=idx))
    result = rescore_job(RescoreRequest(idx, new_model, out=tmp_path / "idx2"))
    new = Index(result.out)
    assert new.labels == ["tone_300hz", "tone_2000hz"] and len(new) == len(Index(idx))
    assert new.folder == Index(idx).folder
    shutil.rmtree(tmp_path / "idx2")


@pytest.mark.parametrize("label", ["a\nb", "x" * 5000, " \t "])
def test_a_label_no_data_set_could_use_is_refused_when_it_is_given_and_nothing_is_written(indexed, label):
    root, idx = indexed
    with pytest.raises(EarmarkError, match="label"):
        label_window(Index(idx), "r1.wav", 1.0, 1.5, label)
    assert not RegionTrack.open(root / "r1.wav").regions
