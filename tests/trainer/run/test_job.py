"""The training job end to end on a tiny synthetic EmoDB set (2 epochs, CPU)."""

from __future__ import annotations

import csv
import json
import threading
import time

import numpy as np
import pytest
import torch

from engine.audio.io import fit_length, load_audio
from engine.datasets.synth import write_emodb
from engine.models.classifier import OnnxClassifier
from trainer.data.splits import LeakageError
from trainer.run.job import Cancelled, CancelToken, Progress, TrainRequest, run


def tiny_config(data, out, cache, **kw) -> TrainRequest:
    base = {"epochs": 2, "seeds": (1,), "batch_size": 8, "n_mels": 16, "workers": 1, "patience": 5}
    return TrainRequest(data=str(data), out=str(out), cache_dir=str(cache), **{**base, **kw})


@pytest.fixture(scope="module")
def emodb(tmp_path_factory):
    root = tmp_path_factory.mktemp("emodb")
    return write_emodb(root / "data", n_speakers=3, sentences_per_speaker=2, seconds=0.5, sample_rate_hz=8000)


@pytest.fixture(scope="module")
def finished(emodb, tmp_path_factory):
    """One real two-seed run shared by the output checks."""
    out = tmp_path_factory.mktemp("run") / "run"
    events: list[Progress] = []
    result = run(tiny_config(emodb, out, out.parent / "cache", seeds=(1, 2)), on_progress=events.append)
    return result, events, out


def test_run_writes_every_output(finished):
    result, _, out = finished
    for name in ("metrics.json", "model.onnx", "confusion_matrix.png", "curves.png", "config.json",
                 "val_predictions.csv", "test_predictions.csv"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert list((out / "tb" / "seed1").glob("events.out.tfevents.*"))
    for seed in (1, 2):
        state = torch.load(out / "checkpoints" / f"seed{seed}" / "best.pt", weights_only=True)
        assert state["seed"] == seed and "model" in state
    assert result.model_path == out / "model.onnx" and result.best_seed in (1, 2)


def test_metrics_json_headlines_test_figures_and_keeps_validation_apart(finished, emodb):
    _, _, out = finished
    doc = json.loads((out / "metrics.json").read_text())
    assert [m["seed"] for m in doc["per_seed"]] == [1, 2]
    sizes = doc["split_sizes"]
    for m in doc["per_seed"]:
        for figures, clips in ((m, sizes["test_clips"]), (m["val"], sizes["val_clips"])):
            for key in ("accuracy", "macro_f1", "auc_ovr", "per_class_recall", "confusion_matrix"):
                assert key in figures
            assert len(figures["confusion_matrix"]) == 7 and set(figures["per_class_recall"]) == set(doc["labels"])
            assert sum(map(sum, figures["confusion_matrix"])) == clips
    for key in ("accuracy", "macro_f1", "auc_ovr"):
        assert set(doc["summary"][key]) == {"mean", "std"} and set(doc["val_summary"][key]) == {"mean", "std"}
    assert doc["summary"]["accuracy"]["mean"] == pytest.approx(np.mean([m["accuracy"] for m in doc["per_seed"]]))
    assert doc["leakage_count"] == 0
    val, test = doc["val_speakers"], doc["test_speakers"]
    assert val and test and not set(val) & set(test)
    assert doc["split"]["strategy"] == "speaker" and val == doc["val_groups"] and test == doc["test_groups"]
    assert {p.name[:2] for p in (emodb / "wav").iterdir()} - set(val) - set(test)      # something to train on
    assert sizes["train_clips"] + sizes["val_clips"] + sizes["test_clips"] == 42
    assert sizes["val_clips"] == 14 * len(val) and sizes["test_clips"] == 14 * len(test)
    assert doc["evaluation"]["scheme"] == "holdout" and "tested on 14 clips" in doc["evaluation"]["description"]
    assert 0 < doc["chance"]["accuracy"] <= 1


def test_progress_events_arrive_in_order(finished):
    _, events, _ = finished
    stages = [e.stage for i, e in enumerate(events) if i == 0 or events[i - 1].stage != e.stage]
    assert stages == ["prepare", "split", "cache", "train", "evaluate", "train", "evaluate", "export", "done"]
    epochs = [(e.seed, e.epoch) for e in events if e.stage == "train" and "val_loss" in e.metrics]
    assert epochs == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert all(isinstance(e, Progress) for e in events)
    assert any(e.eta_s is not None for e in events if e.stage == "train")


def test_exported_model_matches_the_pytorch_validation_predictions(finished):
    _, _, out = finished
    model = OnnxClassifier.load(out / "model.onnx")
    meta = model.meta.raw
    assert meta["labels"] == sorted(meta["labels"]) and len(meta["labels"]) == 7
    assert meta["sample_rate_hz"] == 8000 and meta["clip_s"] == 0.5
    assert meta["split"]["val_speakers"] and meta["seeds"] == [1, 2]
    assert meta["training_data"]["n_clips"] == 42 and meta["architecture"] == "vgg4"
    assert set(meta["metrics"]) == {"accuracy", "macro_f1", "auc_ovr"} == set(meta["val_metrics"])
    assert meta["evaluation"]["scheme"] == "holdout" and meta["split"]["test_groups"]
    with open(out / "val_predictions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 14 * len(meta["split"]["val_speakers"])
    # EmoDB names its speakers: the model is calibrated to each one over that speaker's clips
    assert meta["band_norm"]["scheme"] == "speaker" and model.calibratable
    speaker = rows[0]["speaker"]
    clips = [load_audio(r["path"], 8000).samples for r in rows if r["speaker"] == speaker]
    model.set_calibration(model.calibrate(clips))
    for row in [r for r in rows if r["speaker"] == speaker][:5]:
        wave = fit_length(load_audio(row["path"], 8000).samples, 4000)
        probs = model.predict(wave[None])[0]
        expected = np.array([float(row[f"p_{label}"]) for label in model.meta.labels])
        np.testing.assert_allclose(probs, expected, atol=1e-4)
        assert model.meta.labels[int(probs.argmax())] == row["predicted_label"]


def test_cancel_mid_epoch_raises_soon_and_keeps_the_best_checkpoint(emodb, tmp_path):
    token = CancelToken()
    seen = {}

    def on_progress(p: Progress) -> None:
        if p.stage == "train" and p.epoch == 2 and "val_loss" not in p.metrics and "at" not in seen:
            seen["at"] = time.monotonic()
            token.cancel()

    config = tiny_config(emodb, tmp_path / "run", tmp_path / "cache", epochs=4, batch_size=4)
    with pytest.raises(Cancelled):
        run(config, on_progress=on_progress, cancel=token)
    assert time.monotonic() - seen["at"] < 3.0
    best = torch.load(tmp_path / "run" / "checkpoints" / "seed1" / "best.pt", weights_only=True)
    assert best["epoch"] == 1
    assert not (tmp_path / "run" / "model.onnx").exists()


def test_cancel_from_another_thread(emodb, tmp_path):
    token = CancelToken()
    timer = threading.Timer(0.5, token.cancel)
    timer.start()
    try:
        with pytest.raises(Cancelled):
            run(tiny_config(emodb, tmp_path / "run", tmp_path / "cache", epochs=50), cancel=token)
    finally:
        timer.cancel()
        timer.join()


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(emodb, tmp_path):
    cache = tmp_path / "cache"
    run(tiny_config(emodb, tmp_path / "straight", cache, seeds=(5,), batch_size=4))
    token = CancelToken()

    def cancel_in_epoch_2(p: Progress) -> None:
        if p.stage == "train" and p.epoch == 2:
            token.cancel()

    interrupted = tmp_path / "interrupted"
    with pytest.raises(Cancelled):
        run(tiny_config(emodb, interrupted, cache, seeds=(5,), batch_size=4), on_progress=cancel_in_epoch_2,
            cancel=token)
    assert torch.load(interrupted / "checkpoints" / "seed5" / "last.pt", weights_only=True)["epoch"] == 1
    run(tiny_config(emodb, interrupted, cache, seeds=(5,), batch_size=4, resume=True))
    a = torch.load(tmp_path / "straight" / "checkpoints" / "seed5" / "last.pt", weights_only=True)
    b = torch.load(interrupted / "checkpoints" / "seed5" / "last.pt", weights_only=True)
    assert a["epoch"] == b["epoch"] == 2
    for key, tensor in a["model"].items():
        torch.testing.assert_close(b["model"][key], tensor, rtol=0, atol=1e-6, msg=key)
    assert [h["val_loss"] for h in a["history"]] == pytest.approx([h["val_loss"] for h in b["history"]])


def test_training_refuses_to_start_on_group_overlap(tmp_path, write_wav):
    from tests.conftest import sine

    rows = ["path,label,group,fold"]
    for i in range(8):
        label = "ab"[i % 2]
        write_wav(f"data/{label}{i}.wav", sine(300 + 200 * (i % 2), 0.3, 8000), 8000)
        group = "shared" if i < 2 else f"g{i}"
        rows.append(f"{label}{i}.wav,{label},{group},{1 + i % 2 if i >= 2 else 1 + i}")
    (tmp_path / "data" / "list.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(LeakageError, match="shared"):
        run(tiny_config(tmp_path / "data" / "list.csv", tmp_path / "run", tmp_path / "cache", layout="csv"))
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_the_eta_after_resume_follows_this_process_s_pace(emodb, tmp_path, monkeypatch):
    """A resumed run must not count the steps done before the resume as done at today's pace."""
    import types

    import trainer.run.job as job_module

    cache, out = tmp_path / "cache", tmp_path / "run"
    token = CancelToken()

    def cancel_in_epoch_3(p: Progress) -> None:
        if p.stage == "train" and p.epoch == 3:
            token.cancel()

    config = tiny_config(emodb, out, cache, seeds=(5,), batch_size=4, epochs=4, patience=10)
    with pytest.raises(Cancelled):
        run(config, on_progress=cancel_in_epoch_3, cancel=token)
    assert torch.load(out / "checkpoints" / "seed5" / "last.pt", weights_only=True)["epoch"] == 2

    clock = iter(range(10**6))     # every report reads the clock once: one "second" per step
    monkeypatch.setattr(job_module, "time", types.SimpleNamespace(monotonic=lambda: float(next(clock))))
    reports: list[Progress] = []
    run(tiny_config(emodb, out, cache, seeds=(5,), batch_size=4, epochs=4, patience=10, resume=True),
        on_progress=lambda p: reports.append(p) if p.stage == "train" and "val_loss" not in p.metrics else None)
    assert reports and {p.epoch for p in reports} == {3, 4}        # only the two epochs left ran
    steps = reports[0].total
    timed = [p for p in reports if p.eta_s is not None]
    assert len(timed) == len(reports) - 1                          # the first report has no pace yet
    for p in timed:
        left = (4 - p.epoch) * steps + (steps - p.step)             # steps left, one second each
        assert p.eta_s == pytest.approx(left, abs=1e-6), (p.epoch, p.step, p.eta_s)


def test_every_report_says_how_much_of_the_whole_run_is_done(finished):
    _, events, _ = finished
    fractions = [p.fraction for p in events]
    assert all(f is not None for f in fractions), [p.stage for p in events if p.fraction is None]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0


def test_split_sizes_count_clips_not_the_windows_cut_from_them(emodb, tmp_path):
    """Issue 27, finding 6: clips longer than the model's clip give several windows; the results
    header said 44 validation clips where the split had 39 (it counted windows)."""
    out = tmp_path / "run"
    run(tiny_config(emodb, out, tmp_path / "cache", clip_s=0.2, epochs=1))
    doc = json.loads((out / "metrics.json").read_text())
    from engine.datasets.manifest import read_manifest

    clips = read_manifest(emodb).clips
    sizes = doc["split_sizes"]
    assert sizes["val_items"] > sizes["val_clips"]          # several windows per clip
    assert sizes["val_clips"] == sum(c.group in doc["val_groups"] for c in clips)
    assert sizes["test_clips"] == sum(c.group in doc["test_groups"] for c in clips)
