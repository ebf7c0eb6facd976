"""The annotate → train loop from two recordings (issue 27, finding 3).

Two annotated recordings are fewer groups than a train / validation / test split needs. The
wizard's session groups their clips by contiguous time blocks within each recording (no clip,
padding included, crosses a block), so they train and test with no audio shared between the
sides; grouped per file instead, the leakage audit finds the clips whose audio overlaps."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from engine.annotations.regions import RegionTrack
from engine.datasets.from_regions import make_clips
from engine.datasets.manifest import detect_layout, read_manifest

SR = 8000
PADDING_S = 0.4


def _two_annotated_recordings(write_wav):
    """Two 30 s recordings, each with six runs of three one-second tones (300 Hz "low", 2 kHz "high")
    0.3 s apart, so that with 0.4 s of padding neighbouring clips of a run overlap, and one region
    inside another; 0.9 s pauses between the runs."""
    audio, sidecars = [], []
    for k, name in enumerate(("rec_a", "rec_b")):
        rng = np.random.default_rng(k)
        x = 0.02 * rng.standard_normal(30 * SR).astype(np.float32)
        t = np.arange(SR) / SR
        path = write_wav(f"recs/{name}.wav", x, SR)
        track = RegionTrack.open(path)
        for i in range(18):
            start = 0.5 + 4.5 * (i // 3) + 1.3 * (i % 3)
            label, freq = ("low", 300) if i % 2 == 0 else ("high", 2000)
            x[int(start * SR):int(start * SR) + SR] += 0.5 * np.sin(2 * np.pi * freq * t).astype(np.float32)
            track.add(start, start + 1.0, label)
        track.add(3.2, 3.8, "high")   # inside the 3.5-4.5 s "high" region's padding and the 3.0 s one
        write_wav(f"recs/{name}.wav", x, SR)
        audio.append(path)
        sidecars.append(track.path)
    return audio, sidecars


def _shares_audio(a, b) -> bool:
    return a.source == b.source and a.start_s < b.end_s and b.start_s < a.end_s


@pytest.fixture
def dataset(write_wav, tmp_path):
    audio, sidecars = _two_annotated_recordings(write_wav)
    result = make_clips(audio, sidecars, tmp_path / "ds", padding_s=PADDING_S)
    return result


def test_two_recordings_are_split_by_time_blocks_with_no_audio_on_two_sides(dataset):
    from engine.datasets.grouping import BLOCKS, grouping_note
    from engine.datasets.time_blocks import islands
    from gui.wizard.session import TrainSession
    from trainer.data.splits import three_way_split

    folder = dataset.csv_path.parent
    assert detect_layout(folder) == "csv"   # not "folders" with one class, "clips"
    session = TrainSession()
    manifest = session.load_data(folder)
    assert manifest.layout == "csv" and len({c.group for c in manifest.clips}) == 2
    assert session.summary.usable
    assert session.split.column == BLOCKS
    grouped = session.grouped_manifest()
    blocks = {c.group for c in grouped.clips}
    assert len(blocks) >= 6
    for group in blocks:   # no clip crosses a block: a block is a union of whole overlapping runs
        members = [c for c in grouped.clips if c.group == group]
        assert len({c.source for c in members}) == 1
        others = [c for c in grouped.clips if c.group != group]
        assert not any(_shares_audio(a, b) for a in members for b in others)
    assert len(islands([c for c in grouped.clips if c.source == "rec_a.wav"])) > 1
    note = grouping_note(manifest, BLOCKS)
    assert "2 recording(s)" in note and "time blocks" in note and "optimistic" in note
    split = three_way_split(grouped, "auto", seed=0)
    sides = [[grouped.clips[i] for i in side] for side in (split.train, split.val, split.test)]
    assert all(sides)
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert not any(_shares_audio(x, y) for x in sides[a] for y in sides[b])


def test_the_leakage_audit_reports_overlapping_clips_of_one_recording(dataset):
    from engine.datasets.grouping import regroup
    from trainer.data.splits import LeakageError, leakage_audit, three_way_split

    manifest = read_manifest(dataset.csv_path.parent)
    by_file = regroup(manifest, "file")   # each clip its own group: group names alone see no leak
    clips = by_file.clips
    first, second = clips[0], clips[1]
    assert _shares_audio(first, second) and first.group != second.group and first.path != second.path
    report = leakage_audit([first], [second])
    assert report.count == 2 and not report.ok and "rec_a.wav" in report.overlaps[0]
    touching = [c for c in clips if c.source == first.source and c.start_s >= first.end_s]
    assert leakage_audit([first], touching[-1:]).ok
    with pytest.raises(LeakageError, match="share audio"):
        three_way_split(by_file, "auto", seed=0)


def test_two_recordings_train_and_test_without_shared_audio(dataset, tmp_path):
    pytest.importorskip("torch")
    from gui.wizard.plan import TrainPlan
    from gui.wizard.session import TrainSession
    from trainer import api

    session = TrainSession()
    session.load_data(dataset.csv_path.parent)
    report = api.preview_split(api.SplitRequest(session.grouped_manifest(), session.split.column))
    assert report["leakage_count"] == 0
    session.set_split_report(report)
    session.model.name, session.model.epochs, session.model.seeds = "cnn", 2, (1,)
    session.model.batch_size, session.model.input_size = 8, (16, 16)
    plan = TrainPlan(session, runs_root=tmp_path / "runs", job_overrides={"n_mels": 16, "sample_rate_hz": SR})
    run_dir = plan.prepare()
    try:
        result = plan.execute(on_progress=lambda _p: None, cancel=api.CancelToken())
    finally:
        session.trainer.close()
    metrics = result["metrics"]
    assert metrics["leakage_count"] == 0
    with open(run_dir / "data.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {"source", "start_s", "end_s"} <= set(rows[0])   # the trainer audited the spans too
    doc = json.loads((run_dir / "metrics.json").read_text())
    sizes, split = doc["split_sizes"], doc["split"]
    assert sizes["train_clips"] > 0 and sizes["test_clips"] > 0 and sizes["val_clips"] > 0
    sides = {"test": set(split["test_groups"]), "val": set(split["val_groups"])}
    spans = {name: [(r["source"], float(r["start_s"]), float(r["end_s"])) for r in rows if r["group"] in groups]
             for name, groups in sides.items()}
    spans["train"] = [(r["source"], float(r["start_s"]), float(r["end_s"])) for r in rows
                      if r["group"] not in sides["test"] | sides["val"]]
    assert all(spans.values())
    # the clip counts are clips, not the windows cut from them (the results header said 44 for 39)
    assert (sizes["val_clips"], sizes["test_clips"]) == (len(spans["val"]), len(spans["test"]))
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not any(x[0] == y[0] and x[1] < y[2] and y[1] < x[2] for x in spans[a] for y in spans[b]), (a, b)


def test_main_py_train_on_two_recordings_groups_by_time_blocks_too(dataset, tmp_path):
    """The command line (and every run of a cross-validation) reads the same blocks the wizard shows."""
    pytest.importorskip("torch")
    from trainer import api

    warnings = []
    request = api.TrainRequest(data=str(dataset.csv_path), layout="csv", out=str(tmp_path / "run"), model="cnn",
                               epochs=1, seeds=(1,), batch_size=8, n_mels=16, input_size=(16, 16),
                               sample_rate_hz=SR, workers=1, cache_dir=str(tmp_path / "cache"))
    api.train(request, on_progress=lambda p: warnings.extend(p.warnings or ()))
    doc = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert doc["leakage_count"] == 0 and "time blocks" in doc["grouping"]
    assert any(w.code == "time-blocks" for w in warnings)
    assert all(" s" in g and g.split(" ")[0] in ("rec_a.wav", "rec_b.wav") for g in doc["test_groups"])
