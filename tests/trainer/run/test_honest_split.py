"""A run's test groups influence nothing but its test figures: shuffling the test clips' labels
changes no checkpoint, epoch, seed or validation figure: only the reported test figures."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.datasets.synth import write_emodb
from trainer.data.splits import SplitTooSmall, three_way_split
from trainer.run.job import TrainRequest, run


def write_csv(data, rows, name, column="group"):
    path = data / name
    path.write_text(f"path,label,{column}\n" + "".join(f"{p},{label},{g}\n" for p, label, g in rows))
    return path


# "speaker": the groups are speakers, so the recipe normalises each speaker's bands by its own
# clips' statistics (the test speaker's included: audio only, its labels never read).
@pytest.mark.parametrize("column", ["group", "speaker"])
def test_shuffled_test_labels_change_only_the_test_figures(tmp_path, column):
    data = write_emodb(tmp_path / "emo", n_speakers=4, sentences_per_speaker=2, seconds=0.4, sample_rate_hz=8000,
                       seed=5)
    wavs = sorted((data / "wav").iterdir())
    emotions = {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness", "T": "sadness",
                "N": "neutral"}
    rows = [(f"wav/{p.name}", emotions[p.name[5]], p.name[:2]) for p in wavs]
    test_speaker = rows[-1][2]
    test_rows = [i for i, r in enumerate(rows) if r[2] == test_speaker]
    shuffled = list(rows)
    order = np.random.default_rng(0).permutation([rows[i][1] for i in test_rows])
    assert list(order) != [rows[i][1] for i in test_rows]
    for i, label in zip(test_rows, order, strict=True):
        shuffled[i] = (rows[i][0], str(label), rows[i][2])

    docs, weights = [], []
    for name, table in (("true.csv", rows), ("shuffled.csv", shuffled)):
        out = tmp_path / name.replace(".csv", "")
        config = TrainRequest(data=str(write_csv(data, table, name, column)), out=str(out), layout="csv", epochs=3,
                             seeds=(1, 2), batch_size=8, n_mels=16, workers=1, patience=5,
                             test_groups=(test_speaker,), cache_dir=str(tmp_path / "cache"), model="cnn")
        run(config)
        docs.append(json.loads((out / "metrics.json").read_text()))
        weights.append({seed: torch.load(out / "checkpoints" / f"seed{seed}" / "best.pt", weights_only=True)
                        for seed in (1, 2)})
    true, mixed = docs
    assert json.loads((tmp_path / "true" / "config.json").read_text())["speaker_norm"] is (column == "speaker")
    if column == "speaker":   # the statistics read no label: identical, the test speaker's included
        stats = [json.loads((tmp_path / n / "band_stats.json").read_text()) for n in ("true", "shuffled")]
        assert stats[0] == stats[1] and test_speaker in stats[0]["speakers"]
        assert test_speaker not in stats[0]["training_speakers"]
    assert true["test_groups"] == mixed["test_groups"] == [test_speaker]
    assert true["val_groups"] == mixed["val_groups"] and test_speaker not in true["val_groups"]
    assert true["best_seed"] == mixed["best_seed"]
    for a, b in zip(true["per_seed"], mixed["per_seed"], strict=True):
        assert a["best_epoch"] == b["best_epoch"] and a["best_val_loss"] == b["best_val_loss"]
        assert a["val"] == b["val"]                                      # validation figures: identical
    for seed in (1, 2):
        assert weights[0][seed]["epoch"] == weights[1][seed]["epoch"]
        for key, tensor in weights[0][seed]["model"].items():
            assert torch.equal(tensor, weights[1][seed]["model"][key]), key
    # the same model said the same about the test clips; the test figures were scored on the new labels
    assert true["test_clip_predictions"] == mixed["test_clip_predictions"]
    import csv

    said = [[row["true_label"] for row in csv.DictReader(open(tmp_path / name / "test_predictions.csv"))]
            for name in ("true", "shuffled")]
    assert said[0] != said[1] and sorted(said[0]) == sorted(said[1])


def test_too_few_groups_is_a_clear_error_not_a_two_clip_split(tmp_path):
    from engine.datasets.manifest import Clip, Manifest

    clips = [Clip(tmp_path / f"{g}{i}.wav", label="ab"[i % 2], group=g) for g in ("x", "y") for i in range(6)]
    with pytest.raises(SplitTooSmall, match="at least three"):
        three_way_split(Manifest(tmp_path, "csv", clips, ["a", "b"]))
    # a fold layout whose test fold holds 2 of 414 clips (an ESC-50 folder of mostly one fold)
    clips = [Clip(tmp_path / f"c{i}.wav", label="ab"[i % 2], group=f"s{i}", fold=1 if i < 412 else 2)
             for i in range(414)]
    with pytest.raises(SplitTooSmall, match="test side would hold 2 of 414"):
        three_way_split(Manifest(tmp_path, "esc50", clips, ["a", "b"]), "fold")
