"""`main.py train` on tiny synthetic data sets: outputs on success, clear errors naming the file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import main
from engine.datasets.synth import write_emodb, write_esc50

REPO = Path(__file__).resolve().parents[2]
TINY = ["--epochs", "1", "--seeds", "3", "--batch-size", "4", "--n-mels", "16", "--workers", "1"]


@pytest.fixture
def esc50(tmp_path):
    return write_esc50(tmp_path / "esc", n_classes=3, clips_per_class=4, seconds=0.5, sample_rate_hz=8000)


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("EARMARK_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.slow  # a fresh interpreter imports torch, sklearn, matplotlib, onnx (~15 s idle)
def test_python_main_train_exits_0_and_writes_the_outputs(esc50, tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(REPO / "main.py"), "train", "--data", str(esc50), "--layout",
                           "esc50", "--model", "cnn", "--out", str(out), *TINY],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("metrics.json", "model.onnx", "confusion_matrix.png", "curves.png", "config.json",
                 "val_predictions.csv"):
        assert (out / name).is_file(), name
    assert "[train]" in proc.stderr and "[export]" in proc.stderr
    assert "accuracy" in proc.stdout and str(out / "model.onnx") in proc.stdout
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["leakage_count"] == 0 and doc["split"]["strategy"] == "fold" and doc["split"]["test_fold"] == 2
    assert "test accuracy" in proc.stdout and "chance" in proc.stdout


def _train(data, tmp_path, *extra) -> int:
    return main.main(["train", "--data", str(data), "--out", str(tmp_path / "run"), *TINY, *extra])


def test_an_unknown_emodb_emotion_names_the_file(tmp_path, capsys):
    data = write_emodb(tmp_path / "emo", n_speakers=2, sentences_per_speaker=1, seconds=0.3, sample_rate_hz=8000)
    bad = next((data / "wav").iterdir())
    bad.rename(bad.with_name(bad.name[:5] + "X" + bad.name[6:]))
    assert _train(data, tmp_path, "--layout", "emodb") != 0
    err = capsys.readouterr().err
    assert "error:" in err and bad.name[:5] + "X" in err


def test_a_missing_file_names_the_file(esc50, tmp_path, capsys):
    victim = sorted((esc50 / "audio").iterdir())[3]
    victim.unlink()
    assert _train(esc50, tmp_path, "--layout", "esc50") != 0
    err = capsys.readouterr().err
    assert "error:" in err and victim.name in err
    assert not (tmp_path / "run" / "model.onnx").exists()


def test_a_corrupt_clip_is_skipped_with_a_warning_naming_it(esc50, tmp_path, capsys):
    victim = sorted((esc50 / "audio").iterdir())[0]
    victim.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    assert _train(esc50, tmp_path, "--layout", "esc50") == 0
    err = capsys.readouterr().err.splitlines()
    # named by the progress printer as a typed warning while the run goes on, then counted at the end
    named = [i for i, line in enumerate(err) if line.startswith("warning: skipped") and victim.name in line]
    counted = [i for i, line in enumerate(err) if "1 clip could not be read and was left out" in line]
    assert named and counted and named[0] < counted[-1]
    assert any(line.startswith("[train]") for line in err[named[0]:counted[-1]])  # named before training
    doc = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert [Path(p).name for p, _ in doc["skipped"]] == [victim.name]


def test_all_clips_corrupt_is_an_error(esc50, tmp_path, capsys):
    for path in (esc50 / "audio").iterdir():
        path.write_bytes(b"not audio at all")
    assert _train(esc50, tmp_path, "--layout", "esc50") != 0
    assert "none of the" in capsys.readouterr().err


def test_bad_options_are_clear_errors(esc50, tmp_path, capsys):
    assert _train(esc50, tmp_path, "--model", "nosuchnet") != 0
    assert "nosuchnet" in capsys.readouterr().err
    assert _train(esc50, tmp_path, "--val-fold", "9") != 0
    assert "fold 9" in capsys.readouterr().err


def test_list_models_needs_no_data_and_lists_every_backbone(capsys):
    from trainer.models import list_models

    assert main.main(["train", "--list-models"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert listed == list(list_models()) and "cnn" in listed and "resnet18" in listed


def test_train_without_data_or_out_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main.main(["train", "--out", "somewhere"])
    assert exit_info.value.code == 2
    assert "--data and --out are required" in capsys.readouterr().err


def test_version_prints_the_version(capsys):
    import tomllib

    from engine import __version__

    with pytest.raises(SystemExit) as exit_info:
        main.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"earmark {__version__}"
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert __version__ == declared


def test_every_option_has_help_with_its_default():
    import argparse

    parser = main.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in [("earmark", parser), *subparsers.choices.items()]:
        formatter = sub._get_formatter()
        for action in sub._actions:
            if not action.option_strings or isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                continue
            assert action.help, f"{name} {action.option_strings[0]} has no help"
            text = formatter._get_help_string(action)
            assert "default" in text, f"{name} {action.option_strings[0]}: {text!r} shows no default"


def test_train_help_shows_the_recipe_defaults(capsys):
    from trainer.recipe import TrainRequest

    with pytest.raises(SystemExit):
        main.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"maximum epochs per seed (default: {TrainRequest.epochs})" in text
    assert f"(default: {' '.join(map(str, TrainRequest.seeds))})" in text
    assert f"peak learning rate (AdamW, cosine) (default: {TrainRequest.lr})" in text


def test_resume_with_another_configuration_is_refused_naming_the_fields(esc50, tmp_path, capsys):
    from trainer.recipe import TrainRequest

    assert _train(esc50, tmp_path, "--layout", "esc50") == 0
    capsys.readouterr()
    other = write_esc50(tmp_path / "other", n_classes=3, clips_per_class=4, seconds=0.5, sample_rate_hz=8000, seed=9)
    checkpoint = next((tmp_path / "run" / "checkpoints").glob("seed*/last.pt"))
    before = checkpoint.stat().st_mtime_ns
    assert _train(esc50, tmp_path, "--layout", "esc50", "--resume", "--lr", "0.01") == 2
    err = capsys.readouterr().err
    assert "--resume" in err and f"lr: {TrainRequest.lr} -> 0.01" in err and "data" not in err.split("differ")[1]
    assert main.main(["train", "--data", str(other), "--out", str(tmp_path / "run"), *TINY, "--layout", "esc50",
                      "--resume"]) == 2
    err = capsys.readouterr().err
    assert "data:" in err and str(other.resolve()) in err
    assert checkpoint.stat().st_mtime_ns == before          # nothing was trained on top
    assert _train(esc50, tmp_path, "--layout", "esc50", "--resume", "--workers", "1") == 0   # same settings
