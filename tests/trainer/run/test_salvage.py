"""A cancelled run's best checkpoint exports to a model that says it comes from a cancelled run."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from engine.audio.io import fit_length, load_audio
from engine.datasets.manifest import read_manifest
from engine.datasets.synth import write_emodb
from engine.jobs import Cancelled, CancelToken, Progress, run_job
from engine.models.classifier import OnnxClassifier
from trainer import api
from trainer.data.speaker_norm import read_default
from trainer.run.build import build_classifier, export_model
from trainer.run.job import TrainRequest, run
from trainer.run.resolve import frontend_config
from trainer.run.salvage import SALVAGED_FILE, SalvageError, read_config


@pytest.fixture(scope="module")
def emodb(tmp_path_factory):
    root = tmp_path_factory.mktemp("emodb")
    return write_emodb(root / "data", n_speakers=3, sentences_per_speaker=2, seconds=0.5, sample_rate_hz=8000)


@pytest.fixture(scope="module")
def cancelled_run(emodb, tmp_path_factory):
    """A real two-seed run cancelled at the end of the second seed's first epoch (both kept a best.pt)."""
    out = tmp_path_factory.mktemp("run") / "run"
    config = TrainRequest(data=str(emodb), out=str(out), cache_dir=str(out.parent / "cache"), epochs=3, seeds=(1, 2),
                         batch_size=8, n_mels=16, workers=1, patience=5)
    cancel = CancelToken()

    def on_progress(p: Progress) -> None:
        if p.seed == 2 and "val_loss" in (p.metrics or {}):
            cancel.cancel()

    with pytest.raises(Cancelled):
        run(config, on_progress=on_progress, cancel=cancel)
    assert not (out / "metrics.json").exists() and not (out / "model.onnx").exists()
    return out


def _clip_batch(emodb, config, n=6):
    paths = sorted((emodb / "wav").glob("*.wav"))[:n]
    n_samples = frontend_config(config).n_samples
    return np.stack([fit_length(load_audio(p, config.sample_rate_hz).samples, n_samples) for p in paths])


def _torch_probs(config, state, waves, n_classes, run_dir):
    classifier = build_classifier(config, n_classes)
    classifier.load_state_dict(state["model"])
    band_default = read_default(run_dir, config.n_mels) if config.speaker_norm else None   # EmoDB: speakers
    with torch.no_grad():
        return export_model(config, classifier, band_default)(torch.from_numpy(waves)).numpy()


def test_the_lowest_validation_loss_checkpoint_is_exported_and_says_it_was_cancelled(cancelled_run, emodb):
    states = {seed: torch.load(cancelled_run / "checkpoints" / f"seed{seed}" / "best.pt", weights_only=True)
              for seed in (1, 2)}
    best_seed = min(states, key=lambda s: states[s]["val_loss"])
    events: list[Progress] = []
    outcome = run_job(api.export_checkpoint, cancelled_run, on_progress=events.append)
    assert outcome.ok, outcome.message
    assert outcome.value == cancelled_run / SALVAGED_FILE
    model = OnnxClassifier.load(outcome.value, threads=1, sandbox=False)
    raw = model.meta.raw
    assert raw["cancelled"] is True
    assert raw["checkpoint"]["seed"] == best_seed and raw["checkpoint"]["epoch"] == states[best_seed]["epoch"]
    assert raw["exported_seed"] == best_seed and "incomplete" in raw["figures"] and raw["metrics"] == {}
    assert f"epoch {states[best_seed]['epoch']}, seed {best_seed}" in raw["note"]
    assert raw["parity_max_abs_err"] <= 1e-4
    config = read_config(cancelled_run / "config.json")
    assert model.labels == list(read_manifest(str(emodb)).labels) and len(model.labels) == 7
    waves = _clip_batch(emodb, config)
    onnx_probs = model.predict(waves)
    assert config.speaker_norm and raw["band_norm"]["scheme"] == "speaker"
    chosen = _torch_probs(config, states[best_seed], waves, 7, cancelled_run)
    other = _torch_probs(config, states[3 - best_seed], waves, 7, cancelled_run)
    np.testing.assert_allclose(onnx_probs, chosen, atol=1e-4)
    assert np.abs(onnx_probs - other).max() > 1e-3            # the other seed's weights would show
    assert events[-1].stage == "done" and "figures incomplete" in events[-1].message


def test_a_cross_validation_run_names_the_fold(cancelled_run, tmp_path):
    """Fold folders each with their own config.json; the lower validation loss wins whichever fold it is in."""
    run_dir = tmp_path / "cv"
    for fold in (1, 2):
        shutil.copytree(cancelled_run / "checkpoints", run_dir / f"fold{fold}" / "checkpoints")
        shutil.copy(cancelled_run / "config.json", run_dir / f"fold{fold}" / "config.json")
        shutil.copy(cancelled_run / "band_stats.json", run_dir / f"fold{fold}" / "band_stats.json")
    path = run_dir / "fold2" / "checkpoints" / "seed1" / "best.pt"
    state = torch.load(path, weights_only=True)
    state["val_loss"] = 0.001                                  # fold 2, seed 1 is now the best of all
    torch.save(state, path)
    config = json.loads((cancelled_run / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**config, "folds": 2, "sample_rate_hz": None}))
    target = api.export_checkpoint(run_dir)
    raw = OnnxClassifier.load(target, threads=1, sandbox=False).meta.raw
    assert raw["checkpoint"] == {"epoch": state["epoch"], "seed": 1, "val_loss": 0.001, "fold": 2}
    assert "fold 2, epoch" in raw["note"]


def test_a_damaged_checkpoint_is_passed_over(cancelled_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(cancelled_run / "checkpoints", run_dir / "checkpoints")
    shutil.copy(cancelled_run / "config.json", run_dir / "config.json")
    (run_dir / "checkpoints" / "seed1" / "best.pt").write_bytes(b"not a checkpoint")
    outcome = run_job(api.export_checkpoint, run_dir)   # a speaker-normalised run without its statistics
    assert outcome.status == "failed" and "band_stats.json" in outcome.message and "missing" in outcome.message
    shutil.copy(cancelled_run / "band_stats.json", run_dir / "band_stats.json")
    raw = OnnxClassifier.load(api.export_checkpoint(run_dir), threads=1, sandbox=False).meta.raw
    assert raw["checkpoint"]["seed"] == 2


def test_nothing_kept_is_a_clear_error(cancelled_run, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copy(cancelled_run / "config.json", run_dir / "config.json")
    outcome = run_job(api.export_checkpoint, run_dir)
    assert outcome.status == "failed" and isinstance(outcome.error, SalvageError)
    assert str(run_dir) in outcome.message and "no checkpoint was kept" in outcome.message
    (run_dir / "checkpoints" / "seed1").mkdir(parents=True)
    (run_dir / "checkpoints" / "seed1" / "best.pt").write_bytes(b"junk")
    outcome = run_job(api.export_checkpoint, run_dir)
    assert outcome.status == "failed" and "could be read" in outcome.message


def test_cancel_stops_the_export(cancelled_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(cancelled_run / "checkpoints", run_dir / "checkpoints")
    shutil.copy(cancelled_run / "config.json", run_dir / "config.json")
    token = CancelToken()
    token.cancel()
    outcome = run_job(api.export_checkpoint, run_dir, cancel=token)
    assert outcome.status == "cancelled" and not (run_dir / SALVAGED_FILE).exists()
