"""Speaker normalisation is never silently off for a data set that names speakers (issue 25, D22)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from engine.datasets.manifest import read_manifest
from trainer.recipe import TrainRequest
from trainer.run.resolve import resolve


def _data_set(write_wav, tmp_path, speakers):
    rows = ["path,label,group,speaker"]
    for i, speaker in enumerate(speakers):
        write_wav(f"ds/{i}.wav", 0.1 * np.random.default_rng(i).standard_normal(8000).astype(np.float32), 8000)
        rows.append(f"{i}.wav,{'ab'[i % 2]},g{i % 4},{speaker}")
    (tmp_path / "ds" / "data.csv").write_text("\n".join(rows) + "\n")
    return read_manifest(tmp_path / "ds" / "data.csv", "csv")


@pytest.mark.parametrize("speakers, said", [(["s1", "s2", "", "s1", "s2", ""], "2 of 6 clip(s) name no speaker"),
                                            (["s1"] * 6, "the same speaker ('s1')")])
def test_speaker_norm_off_is_said_with_the_reason(write_wav, tmp_path, caplog, speakers, said):
    manifest = _data_set(write_wav, tmp_path, speakers)
    with caplog.at_level(logging.WARNING):
        resolved = resolve(TrainRequest(data=str(tmp_path / "ds" / "data.csv"), out=str(tmp_path / "run")), manifest)
    assert resolved.speaker_norm is False
    assert said in caplog.text and "speaker normalisation is off" in caplog.text


def test_no_word_when_it_is_on_or_no_speakers_are_named(write_wav, tmp_path, caplog):
    manifest = _data_set(write_wav, tmp_path, ["s1", "s2"] * 3)
    with caplog.at_level(logging.WARNING):
        assert resolve(TrainRequest(data="x", out="y"), manifest).speaker_norm is True
    assert "speaker normalisation" not in caplog.text
