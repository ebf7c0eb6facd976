"""The labelling loop from the shell, every step a real `main.py` subprocess: index a folder of real
WAVs with a real ONNX model, label the hits of `similar`, label from `queue`, cut the data set,
train a tiny model, and index the folder again with it (the re-score)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.annotations.regions import RegionTrack
from engine.index.search import Index
from tests.engine.index.helpers import BURST_S, HIGH_AT_S, LOW_AT_S, NAMES, shift_s, write_folder, write_model

REPO = Path(__file__).resolve().parents[2]
TINY = ["--model", "cnn", "--epochs", "1", "--seeds", "1", "--batch-size", "4", "--n-mels", "16",
        "--input-size", "16", "16", "--workers", "1", "--no-refit"]


def _main(tmp_path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "EARMARK_CACHE_DIR": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(REPO / "main.py"), *map(str, args)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"main.py {' '.join(map(str, args))}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc


def _table(text: str) -> list[dict]:
    return list(csv.DictReader(text.splitlines(), delimiter="\t"))


def _regions(root: Path, name: str) -> list[tuple[float, float, str]]:
    return sorted((r.start_s, r.end_s, r.label) for r in RegionTrack.open(root / name).accepted())


def _covers_burst(recording: str, start_s: float, end_s: float, at_s: float) -> bool:
    first = at_s + shift_s(NAMES.index(recording))
    return min(end_s, first + BURST_S) - max(start_s, first) >= BURST_S / 2 - 1e-6


@pytest.mark.slow  # `main.py train` in a fresh interpreter imports torch (~15 s idle)
def test_the_loop_walks_from_the_shell(tmp_path):
    root, model = write_folder(tmp_path / "rec"), write_model(tmp_path / "tones.onnx")
    _main(tmp_path, "index", root, "--model", model, "--out", tmp_path / "idx")

    # more like this, each hit labelled: the low bursts of the five other recordings
    low = _table(_main(tmp_path, "similar", "idx", "--like", "r0.wav:2-2.5", "--top", "5", "--label", "low").stdout)
    assert sorted(h["recording"] for h in low) == sorted(NAMES[1:])
    for hit in low:
        start, end = float(hit["start_s"]), float(hit["end_s"])
        assert _covers_burst(hit["recording"], start, end, LOW_AT_S)
        assert _regions(root, hit["recording"]) == [(start, end, "low")]
    high = _table(_main(tmp_path, "similar", "idx", "--like", "r0.wav:6-6.5", "--top", "5",
                        "--label", "background").stdout)
    assert all(_covers_burst(h["recording"], float(h["start_s"]), float(h["end_s"]), HIGH_AT_S) for h in high)
    _main(tmp_path, "label", "idx", "--at", "r0.wav:2-2.5", "--label", "low")
    _main(tmp_path, "label", "idx", "--at", "r0.wav:6-6.5", "--label", "background")
    assert [r[2] for r in _regions(root, "r0.wav")] == ["low", "background"]

    # the queue never lists a labelled window; two of its rows labelled background by row
    labelled = {(h["recording"], h["start_s"]) for h in low + high}
    queue = _table(_main(tmp_path, "queue", "idx", "--top", "6").stdout)
    assert len(queue) == 6 and not labelled & {(q["recording"], q["start_s"]) for q in queue}
    rows = [q["row"] for q in queue[:2]]
    _main(tmp_path, "label", "idx", "--row", rows[0], "--row", rows[1], "--label", "background")
    again = _table(_main(tmp_path, "queue", "idx", "--top", "6").stdout)
    assert not set(rows) & {q["row"] for q in again}
    for q in queue[:2]:
        assert (float(q["start_s"]), float(q["end_s"]), "background") in _regions(root, q["recording"])

    # the labelled regions as a data set, grouped by recording
    _main(tmp_path, "clips", "--index", "idx", "--out", "ds")
    clips = list(csv.DictReader((tmp_path / "ds" / "data.csv").open()))
    assert sum(c["label"] == "low" for c in clips) == 6 and sum(c["label"] == "background" for c in clips) == 8
    assert {c["group"] for c in clips} == {Path(n).with_suffix("").as_posix() for n in NAMES}  # path under the folder
    assert all(Path(c["group"]).name == Path(c["source"]).stem for c in clips)

    # train a tiny model on it, then re-score the folder with it: a new index that knows the new labels
    _main(tmp_path, "train", "--data", "ds/data.csv", "--layout", "csv", "--out", "run", *TINY, timeout=240)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert sorted(metrics["labels"]) == ["background", "low"] and metrics["leakage_count"] == 0
    _main(tmp_path, "index", root, "--model", "run/model.onnx", "--out", "idx2")
    new, old = Index(tmp_path / "idx2"), Index(tmp_path / "idx")
    assert sorted(new.labels) == ["background", "low"] and new.folder == old.folder
    assert new.recordings == old.recordings and len(new) == len(old)
    answers = {label for label in _table(_main(tmp_path, "queue", "idx2", "--top", "4").stdout)[0].values()}
    assert answers & {"background", "low"}
