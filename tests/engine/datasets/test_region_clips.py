"""Clips cut from annotated recordings: a CSV-layout data set grouped by recording."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import soundfile as sf

import main
from engine.annotations.formats import write_regions
from engine.annotations.regions import Region, RegionTrack
from engine.datasets.from_regions import ClipsError, make_clips
from engine.jobs.outputs import OutputExistsError
from tests.helpers_regions import annotated_recordings

SR = 8000


@pytest.fixture
def recordings(write_wav, tmp_path):
    return annotated_recordings(write_wav, tmp_path)


def test_regions_become_clips_cut_exactly_from_the_recording(recordings, tmp_path):
    audio, labels = recordings
    result = make_clips(audio, labels, tmp_path / "ds", padding_s=0.25)
    rows = list(csv.DictReader(open(result.csv_path, newline="")))
    assert result.counts == {"low": 6, "high": 6} and len(rows) == 12
    assert {r["group"] for r in rows} == {f"site{k}" for k in range(6)}
    first = next(r for r in rows if r["group"] == "site0" and r["label"] == "low")
    clip, rate = sf.read(tmp_path / "ds" / first["path"], dtype="float32")
    source, _ = sf.read(audio[0], dtype="float32")
    assert rate == SR and np.array_equal(clip, source[int(0.75 * SR):int(2.25 * SR)])
    assert (float(first["start_s"]), float(first["end_s"])) == (0.75, 2.25)


def test_a_background_class_comes_from_unlabelled_stretches(recordings, tmp_path):
    audio, labels = recordings
    result = make_clips(audio[:1], labels[:1], tmp_path / "ds", background="background", background_s=0.5)
    assert result.counts == {"low": 1, "high": 1, "background": 2}
    rows = list(csv.DictReader(open(result.csv_path, newline="")))
    for row in rows:
        if row["label"] == "background":
            start, end = float(row["start_s"]), float(row["end_s"])
            assert end - start == pytest.approx(0.5)
            assert end <= 1.0 or 2.0 <= start <= end <= 3.5 or start >= 4.5  # never over a region


def test_sidecars_and_multi_file_tables_label_their_recordings(recordings, tmp_path):
    audio, _ = recordings
    track = RegionTrack.open(audio[0])
    track.add(1.0, 2.0, "low")
    track.suggest([Region(3.5, 4.5, "high")])  # pending: not cut
    table = tmp_path / "all.selections.txt"
    write_regions(table, {"site1.wav": [Region(3.5, 4.5, "high")], "site2.wav": [Region(1.0, 2.0, "low")]}, "raven")
    result = make_clips(audio[:3], [track.path, table], tmp_path / "ds")
    rows = list(csv.DictReader(open(result.csv_path, newline="")))
    assert sorted((r["group"], r["label"]) for r in rows) == [("site0", "low"), ("site1", "high"), ("site2", "low")]


def test_a_label_file_that_names_no_recording_is_refused(recordings, tmp_path):
    audio, labels = recordings
    stray = tmp_path / "elsewhere.txt"
    stray.write_text("0\t1\tx\n")
    with pytest.raises(ClipsError, match="elsewhere.txt: no --audio file is named like it"):
        make_clips(audio, [stray], tmp_path / "ds")
    assert main.main(["clips", "--audio", *map(str, audio), "--labels", str(stray), "--out", str(tmp_path / "d")]) == 2


def test_a_long_region_is_copied_block_by_block_exactly(recordings, tmp_path, monkeypatch):
    monkeypatch.setattr("engine.datasets.from_regions.COPY_BLOCK_FRAMES", 997)  # many blocks, none aligned
    audio, _ = recordings
    track = RegionTrack.open(audio[0])
    track.add(0.3, 5.9, "long")
    result = make_clips(audio[:1], [track.path], tmp_path / "ds")
    row = next(csv.DictReader(open(result.csv_path, newline="")))
    clip, _ = sf.read(tmp_path / "ds" / row["path"], dtype="float32")
    source, _ = sf.read(audio[0], dtype="float32")
    assert np.array_equal(clip, source[int(round(0.3 * SR)):int(round(5.9 * SR))])


def test_clips_as_a_job_reports_progress_and_a_cancel_writes_no_data_set(recordings, tmp_path):
    from engine.datasets.from_regions import ClipsRequest, clips_job
    from engine.jobs import CancelToken, run_job

    audio, labels = recordings
    request = ClipsRequest(tuple(audio), tuple(labels), tmp_path / "ds")
    reports = []
    outcome = run_job(clips_job, request, on_progress=reports.append)
    assert outcome.ok and outcome.value.n_clips == 12
    assert [p.step for p in reports] == list(range(7)) and reports[-1].message.startswith("wrote")
    token = CancelToken()
    token.cancel()
    outcome = run_job(clips_job, ClipsRequest(tuple(audio), tuple(labels), tmp_path / "ds2"), cancel=token)
    assert outcome.status == "cancelled" and not (tmp_path / "ds2" / "data.csv").exists()


def test_a_data_csv_someone_else_wrote_is_never_replaced(recordings, tmp_path):
    """Probe round 3: Make data set replaced a person's own data.csv in the chosen folder silently."""
    audio, labels = recordings
    out = tmp_path / "mine"
    out.mkdir()
    theirs = "path,label\nsomewhere/a.wav,dog\nsomewhere/b.wav,cat\n"
    (out / "data.csv").write_text(theirs)
    with pytest.raises(OutputExistsError, match="was not written by Earmark"):
        make_clips(audio, labels, out)
    assert (out / "data.csv").read_text() == theirs and not (out / "clips").exists()
    again = tmp_path / "ours"
    make_clips(audio[:2], labels[:2], again)
    result = make_clips(audio, labels, again)   # an earlier cut made here is replaced
    assert result.n_clips == 12


def test_regions_with_different_labels_that_overlap_are_pointed_out(write_wav, tmp_path):
    """Probe round 3: a 10 s anger region held a 2 s fear region; nothing said so."""
    audio = write_wav("recs/talk.wav", np.zeros(12 * SR, dtype=np.float32), SR)
    labels = tmp_path / "recs" / "talk.txt"
    write_regions(labels, [Region(0.5, 10.5, "anger"), Region(2.0, 4.0, "fear"), Region(10.8, 11.5, "anger")],
                  "audacity")
    result = make_clips([audio], [labels], tmp_path / "ds")
    assert any("1 pair(s) of regions with different labels overlap" in n and "'fear'" in n for n in result.notes)
