"""`main.py clips` -> data.csv -> grouped split and `train`: a recording never straddles a split."""

from __future__ import annotations

import pytest

import main
from engine.datasets.from_regions import make_clips
from engine.datasets.manifest import read_manifest
from tests.helpers_regions import annotated_recordings
from trainer.data.splits import grouped_split


@pytest.fixture
def recordings(write_wav, tmp_path):
    return annotated_recordings(write_wav, tmp_path)


def test_regions_of_one_recording_never_fall_on_both_sides_of_a_split(recordings, tmp_path):
    audio, labels = recordings
    result = make_clips(audio, labels, tmp_path / "ds", background="background")
    manifest = read_manifest(result.csv_path, layout="csv")
    assert len(manifest.clips) == 6 * 4
    for seed in range(5):
        split = grouped_split(manifest, "auto", val_fraction=0.34, seed=seed)
        train = {manifest.clips[i].group for i in split.train}
        val = {manifest.clips[i].group for i in split.val}
        assert train and val and not train & val
        assert train | val == {f"site{k}" for k in range(6)}


def test_main_clips_then_train_on_the_data_set(recordings, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EARMARK_CACHE_DIR", str(tmp_path / "cache"))
    audio, labels = recordings
    out = tmp_path / "ds"
    assert main.main(["clips", "--audio", *map(str, audio), "--labels", *map(str, labels), "--out", str(out),
                      "--padding", "0.1"]) == 0
    assert "wrote 12 clips from 6 recording(s)" in capsys.readouterr().out
    run = tmp_path / "run"
    assert main.main(["train", "--data", str(out / "data.csv"), "--layout", "csv", "--out", str(run),
                      "--epochs", "1", "--seeds", "3", "--batch-size", "4", "--n-mels", "16", "--workers", "1",
                      "--model", "cnn"]) == 0
    assert (run / "model.onnx").is_file()
