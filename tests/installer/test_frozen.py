"""Freeze the app with installer/build.sh and check the result: self-test, contents, size, GUI start.

Slow (about 1-2 minutes on 2 cores): it runs PyInstaller for real. Set EARMARK_SKIP_FREEZE=1
to skip it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.engine.onnx_fixtures import tone_model

ROOT = Path(__file__).resolve().parents[2]
MAX_UNPACKED_MB = 300
GUI_UP_S = 8.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(os.environ.get("EARMARK_SKIP_FREEZE") == "1", reason="EARMARK_SKIP_FREEZE=1"),
]


@pytest.fixture(scope="module")
def frozen_app(tmp_path_factory) -> Path:
    """The app folder built by installer/build.sh, bundling one small real model."""
    tmp = tmp_path_factory.mktemp("freeze")
    models = tmp / "models"
    models.mkdir()
    tone_model(models / "tones.onnx", labels=("hum", "whistle"), sample_rate_hz=16000, clip_s=1.0,
               freqs_hz=(150.0, 3000.0))
    result = subprocess.run(
        ["bash", "installer/build.sh", "--models", str(models), "--dist", str(tmp / "dist"),
         "--work", str(tmp / "work"), "--no-self-test"],
        cwd=ROOT, capture_output=True, text=True, timeout=840)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "unpacked size" in result.stdout
    return tmp / "dist" / "earmark"


def app_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARMARK_")}
    return {**env, **extra}


def test_frozen_self_test_finds_the_bundled_model_and_passes(frozen_app):
    result = subprocess.run([str(frozen_app / "earmark"), "--self-test"], env=app_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Earmark self-test (frozen: yes" in result.stdout
    assert f"bundled models: {frozen_app / '_internal' / 'models_onnx'} (1 found)" in result.stdout
    assert "tones.onnx on lappen_de.wav (1.82 s): " in result.stdout
    assert "self-test passed: 1 bundled model(s)" in result.stdout


def test_frozen_classify_command_labels_files_and_names_a_missing_one(frozen_app, tmp_path):
    model = frozen_app / "_internal" / "models_onnx" / "tones.onnx"
    tone = tmp_path / "whistle.wav"
    n = 16000
    samples = 0.9 * np.sin(2 * np.pi * 3000.0 * np.arange(n) / 16000)
    sf.write(tone, samples.astype(np.float32), 16000, subtype="PCM_16")
    result = subprocess.run([str(frozen_app / "earmark"), "classify", "--json", str(model), str(tone),
                             str(tmp_path / "missing.wav")], env=app_env(), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1  # one file could not be classified
    doc = json.loads(result.stdout)
    assert doc["labels"] == ["hum", "whistle"]
    first, second = doc["results"]
    assert first["label"] == "whistle" and first["confidence"] > 0.9
    assert "missing.wav" in second["error"]


def test_frozen_app_has_no_training_stack_and_fits_the_size_budget(frozen_app):
    internal = frozen_app / "_internal"
    for name in ("torch", "torchvision", "trainer", "scipy", "sklearn", "matplotlib", "onnx", "librosa"):
        assert not (internal / name).exists(), f"{name} was bundled"
    for needed in ("onnxruntime", "PySide6", "pyqtgraph", "numpy", "soxr", "resources/demo/lappen_de.wav",
                   "resources/icons/earmark.png"):
        assert (internal / needed).exists(), f"{needed} is missing"
    assert (frozen_app / "earmark.desktop").is_file() and (frozen_app / "install_linux.sh").is_file()
    size_mb = sum(p.stat().st_size for p in frozen_app.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20
    assert size_mb < MAX_UNPACKED_MB, f"the app is {size_mb:.0f} MB unpacked"


def test_frozen_gui_starts_offscreen_and_stays_up(frozen_app, tmp_path):
    env = app_env(QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
                  XDG_DATA_HOME=str(tmp_path / "data"))
    proc = subprocess.Popen([str(frozen_app / "earmark")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + GUI_UP_S
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    still_up = proc.poll() is None
    proc.terminate()
    try:
        output, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
    assert still_up, f"the frozen GUI exited with {proc.returncode}:\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    assert "ModuleNotFoundError" not in output


def test_install_linux_adds_launcher_menu_entry_and_icon_then_uninstalls(frozen_app, tmp_path):
    env = app_env(HOME=str(tmp_path), XDG_DATA_HOME="")
    result = subprocess.run([str(frozen_app / "install_linux.sh")], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    opt, share = tmp_path / ".local" / "opt" / "earmark", tmp_path / ".local" / "share"
    desktop = (share / "applications" / "earmark.desktop").read_text()
    assert f"Exec={opt / 'earmark'}\n" in desktop and "Icon=earmark\n" in desktop
    assert (share / "icons" / "hicolor" / "256x256" / "apps" / "earmark.png").is_file()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / "earmark.svg").is_file()
    launcher = tmp_path / ".local" / "bin" / "earmark"
    ok = subprocess.run([str(launcher), "--self-test"], env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"bundled models: {opt / '_internal' / 'models_onnx'} (1 found)" in ok.stdout
    assert f"user model folder: {share / 'Earmark' / 'models'}" in ok.stdout

    # Without a bundled model the installed app says so instead of passing.
    for model in (opt / "_internal" / "models_onnx").glob("*.onnx"):
        model.unlink()
    bare = subprocess.run([str(launcher), "--self-test"], env=env, capture_output=True, text=True, timeout=120)
    assert bare.returncode == 1
    assert "self-test FAILED: no model (*.onnx) in" in bare.stderr
    assert "Traceback" not in bare.stderr

    subprocess.run([str(frozen_app / "install_linux.sh"), "--uninstall"], env=env, check=True,
                   capture_output=True, timeout=60)
    assert not opt.exists() and not launcher.exists()
    assert not (share / "applications" / "earmark.desktop").exists()
