"""Cross-validation is one code path: ``main.py train --folds 4`` and the wizard's 4-fold run
(its ``TrainPlan``, as its training worker runs it) write the same metrics.json."""

from __future__ import annotations

import json

import pytest

import main
from engine.datasets.synth import write_emodb
from engine.jobs import CancelToken

torch = pytest.importorskip("torch")

EPOCHS, SEEDS, BATCH, N_MELS = 1, (1,), 8, 16


@pytest.fixture
def emodb(tmp_path):
    return write_emodb(tmp_path / "emodb", n_speakers=4, sentences_per_speaker=2, seconds=0.5,
                       sample_rate_hz=8000, seed=3)


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # tiny steps: a second intra-op thread only contends on 2 cores
    yield
    torch.set_num_threads(threads)


def wizard_run(data, runs_root, cache):
    """What the wizard does for a 4-fold run: session -> split preview -> plan -> execute."""
    from gui.wizard.plan import TrainPlan
    from gui.wizard.session import ModelChoice, TrainSession
    from trainer import api

    session = TrainSession()
    session.load_data(data)
    session.split.mode, session.split.k = "kfold", 4
    session.set_split_report(api.preview_split(api.SplitRequest(
        session.grouped_manifest(), session.split.column, "kfold", k=4, seed=session.split.seed)))
    session.model = ModelChoice(name="cnn", input_size=(16, 16), epochs=EPOCHS, batch_size=BATCH, seeds=SEEDS,
                                device="cpu")
    plan = TrainPlan(session, runs_root=runs_root,
                     job_overrides={"workers": 1, "n_mels": N_MELS, "patience": 5, "cache_dir": str(cache)})
    run_dir = plan.prepare()
    reports = []
    result = plan.execute(on_progress=reports.append, cancel=CancelToken())
    fractions = [p.fraction for p in reports]
    assert None not in fractions and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(p.message.startswith("fold 4/4: ") for p in reports)
    assert result["run_dir"] == run_dir and (run_dir / "model.onnx").is_file()
    return session.split_report, json.loads((run_dir / "metrics.json").read_text())


def test_cli_folds_and_the_wizard_give_the_same_metrics(emodb, tmp_path, one_thread, capsys):
    out = tmp_path / "cli_run"
    assert main.main(["train", "--data", str(emodb), "--folds", "4", "--out", str(out), "--model", "cnn",
                      "--epochs", str(EPOCHS), "--seeds", *map(str, SEEDS), "--batch-size", str(BATCH),
                      "--n-mels", str(N_MELS), "--input-size", "16", "16", "--workers", "1", "--patience", "5",
                      "--device", "cpu", "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "nested 4-fold cross-validation" in capsys.readouterr().out
    cli = json.loads((out / "metrics.json").read_text())
    report, wizard = wizard_run(emodb, tmp_path / "runs", tmp_path / "cache")

    assert cli["split"]["strategy"] == "kfold" and cli["split"]["k"] == 4
    for side in ("test_groups", "val_groups"):                      # trained on the folds it showed
        assert [sorted(f[side]) for f in cli["split"]["folds"]] == [sorted(f[side]) for f in report["folds"]]
    assert sorted(g for f in cli["split"]["folds"] for g in f["test_groups"]) == ["03", "08", "09", "10"]
    assert all(not set(f["test_groups"]) & set(f["val_groups"]) for f in cli["split"]["folds"])
    assert len(cli["per_seed"]) == 4 * len(SEEDS) and cli["leakage_count"] == 0
    assert cli["pooled"]["n_clips"] == 56 and sum(map(sum, cli["pooled"]["confusion_matrix"])) == 56
    assert cli["evaluation"]["scheme"] == "nested_cv" and cli["export"]["source"] == "refit"
    assert wizard == cli                                            # every figure, fold and choice
    for i, fold in enumerate(cli["split"]["folds"], start=1):
        assert (out / f"fold{i}" / "model.onnx").is_file()
        # each fold is tested by a refit on its training and validation groups, as the shipped model is made
        refit = json.loads((out / f"fold{i}" / "refit" / "metrics.json").read_text())
        assert refit["evaluation"]["scheme"] == "refit" and refit["test_groups"] == fold["test_groups"]
        sizes, refit_sizes = fold["sizes"], fold["refit"]["sizes"]
        assert refit_sizes["train_clips"] == sizes["train_clips"] + sizes["val_clips"] > sizes["train_clips"]
        assert refit_sizes["test_clips"] == sizes["test_clips"] and not fold["refit"]["val_groups"]
        assert cli["per_fold"][i - 1]["macro_f1"] == pytest.approx(refit["summary"]["macro_f1"]["mean"])
    from engine.models.classifier import OnnxClassifier

    shipped = OnnxClassifier.load(out / "model.onnx").meta.raw     # the refit, never a fold's model
    assert shipped["metrics"]["macro_f1"]["mean"] == pytest.approx(cli["pooled"]["macro_f1"])
    assert shipped["evaluation"]["scheme"] == "nested_cv" and shipped["split"]["strategy"] == "refit"
    assert shipped["recipe"]["refit_epochs"] == cli["export"]["refit_epochs"]
    # thresholds fitted on the pooled out-of-fold predictions, as the rule says
    assert shipped["thresholds"] == cli["thresholds"] and "56 pooled out-of-fold" in shipped["thresholds"]["fitted_on"]
