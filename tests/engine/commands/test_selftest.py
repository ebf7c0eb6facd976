"""`main.py --self-test` from a source checkout, in a subprocess as a person would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.engine.onnx_fixtures import tone_model

ROOT = Path(__file__).resolve().parents[3]


def run_self_test(models_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "EARMARK_BUNDLED_MODELS": str(models_dir), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "main.py", "--self-test"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_self_test_classifies_the_demo_clip_with_every_bundled_model(tmp_path):
    tone_model(tmp_path / "tones.onnx", labels=("hum", "whistle"), sample_rate_hz=16000, clip_s=1.0,
               freqs_hz=(150.0, 3000.0))
    tone_model(tmp_path / "coarse.onnx", labels=("a", "b", "c"), sample_rate_hz=8000, clip_s=0.5,
               freqs_hz=(200.0, 800.0, 2000.0))
    result = run_self_test(tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Earmark self-test (frozen: no")
    assert f"bundled models: {tmp_path} (2 found)" in lines
    assert any(line.startswith("user model folder: ") for line in lines)
    coarse = next(line for line in lines if line.startswith("coarse.onnx on lappen_de.wav (1.82 s): "))
    assert "[3 labels, 8000 Hz," in coarse
    tones = next(line for line in lines if line.startswith("tones.onnx on lappen_de.wav"))
    assert "hum" in tones and "whistle" in tones
    assert lines[-1] == ("self-test passed: 2 bundled model(s) classified the demo clip; "
                         "neither torch nor the Qt GUI was loaded")


def test_self_test_fails_clearly_without_a_model(tmp_path):
    result = run_self_test(tmp_path)
    assert result.returncode == 1
    assert f"self-test FAILED: no model (*.onnx) in {tmp_path}" in result.stderr
    assert "models_onnx/" in result.stderr  # says how to fix it
    assert "Traceback" not in result.stderr


def test_self_test_fails_naming_a_broken_bundled_model(tmp_path):
    tone_model(tmp_path / "good.onnx")
    (tmp_path / "zz_broken.onnx").write_bytes(b"this is not an ONNX model")
    result = run_self_test(tmp_path)
    assert result.returncode == 1
    assert "self-test FAILED: " in result.stderr
    assert str(tmp_path / "zz_broken.onnx") in result.stderr
    assert "Traceback" not in result.stderr
    assert "good.onnx on lappen_de.wav" in result.stdout  # the good one was checked first


def test_self_test_refuses_a_model_without_earmark_metadata(tmp_path):
    tone_model(tmp_path / "bare.onnx", metadata=None)
    result = run_self_test(tmp_path)
    assert result.returncode == 1
    assert str(tmp_path / "bare.onnx") in result.stderr
    assert "no Earmark metadata" in result.stderr


def test_demo_clip_is_small_mono_16_bit_speech():
    import soundfile as sf

    from engine.commands.selftest import DEMO_CLIP
    from engine.userdirs import resource_dir

    clip = resource_dir() / DEMO_CLIP
    info = sf.info(clip)
    assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16")
    assert 1.0 < info.duration < 3.0
    assert clip.stat().st_size < 100_000
