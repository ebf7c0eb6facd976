"""A hold-out run ships the model refit on every clip; its figures stay the held-out model's."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from engine.datasets.synth import write_emodb
from engine.models.classifier import OnnxClassifier
from trainer import api
from trainer.recipe import TrainRequest

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def emodb(tmp_path_factory):
    root = tmp_path_factory.mktemp("emodb")
    return write_emodb(root / "data", n_speakers=4, sentences_per_speaker=2, seconds=0.5, sample_rate_hz=8000)


def request(data, out, **kw) -> TrainRequest:
    base = {"epochs": 2, "seeds": (1, 2), "batch_size": 8, "n_mels": 16, "workers": 1,
            "cache_dir": str(out.parent / "cache")}
    return TrainRequest(data=str(data), out=str(out), **{**base, **kw})


def test_the_shipped_model_is_refit_on_every_clip_and_says_whose_figures_it_carries(emodb, tmp_path):
    out = tmp_path / "run"
    stages = []
    result = api.train(request(emodb, out), on_progress=lambda p: stages.append(p.stage))
    doc = json.loads((out / "metrics.json").read_text())
    n_clips = len(list((emodb / "wav").glob("*.wav")))
    sizes = doc["split_sizes"]
    assert sizes["train_clips"] < n_clips and sizes["test_clips"] > 0     # the figures: a real hold-out

    export = doc["export"]
    assert export["source"] == "refit" and export["refit_clips"] == n_clips
    assert export["refit_seed"] == doc["best_seed"] == result.best_seed
    assert export["refit_epochs"] == 2                                      # the whole schedule (no early stop)
    assert "holdout_model.onnx" in export["figures_from"]
    refit_doc = json.loads((out / "refit" / "metrics.json").read_text())
    assert refit_doc["split_sizes"]["train_clips"] == n_clips and refit_doc["split_sizes"]["test_clips"] == 0
    with open(out / "refit" / "refit_predictions.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == n_clips               # it learnt from every clip
    assert stages[-1] == "done" and stages.count("done") == 1

    shipped = OnnxClassifier.load(out / "model.onnx")
    held = OnnxClassifier.load(out / "holdout_model.onnx")
    assert result.model_path == out / "model.onnx"
    raw = json.loads(_metadata_json(out / "model.onnx"))
    assert raw["evaluation"]["scheme"] == "holdout_then_refit" and raw["figures_from"] == "holdout_model"
    assert raw["metrics"]["macro_f1"] == doc["summary"]["macro_f1"]         # the held-out model's figures
    assert raw["training_data"]["n_clips"] == n_clips
    # per-class thresholds fitted on the validation side's predictions, carried into the shipped model
    assert raw["thresholds"] == doc["thresholds"] and "validation side" in raw["thresholds"]["fitted_on"]
    assert set(raw["thresholds"]["per_class"]) == set(shipped.meta.labels)
    assert shipped.thresholds is not None and held.thresholds.per_class == shipped.thresholds.per_class
    wave = np.random.default_rng(0).standard_normal((1, shipped.meta.n_samples)).astype(np.float32) * 0.1
    assert not np.allclose(shipped.predict(wave), held.predict(wave))       # two different models


def test_no_refit_ships_the_held_out_model(emodb, tmp_path):
    out = tmp_path / "run"
    api.train(request(emodb, out, seeds=(1,), refit=False))
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["export"].get("source") != "refit" and not (out / "holdout_model.onnx").exists()
    assert not (out / "refit").exists()
    raw = json.loads(_metadata_json(out / "model.onnx"))
    assert raw["evaluation"]["scheme"] == "holdout"


def _metadata_json(path) -> str:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return next(p.value for p in model.metadata_props if p.key == "earmark")
