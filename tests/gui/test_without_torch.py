"""The classifying app must start and classify with torch (and the trainer) unavailable."""

import json
import subprocess
import sys
from pathlib import Path

import soundfile as sf

from tests.conftest import sine
from tests.helpers_onnx import write_tone_model

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, sys
sys.modules["torch"] = None          # any `import torch` now raises ImportError
sys.modules["torchvision"] = None
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import gui.app
window = gui.app.start([])
app = QApplication.instance()
labels = []
window.file_view.classified.connect(lambda p: (labels.append(p.top(1)[0][0]), app.quit()))
window.catalog.select(sys.argv[2])   # the test's model, not the shipped one
window.file_view.open_file(sys.argv[1])
QTimer.singleShot(60000, app.quit)
app.exec()
print(json.dumps({"title": window.windowTitle(), "labels": labels,
                  "torch": "torch" in sys.modules and sys.modules["torch"] is not None,
                  "trainer": "trainer" in sys.modules}))
window.close()
"""


def test_app_opens_without_torch_and_never_loads_the_trainer(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    write_tone_model(models / "tone.onnx")
    wav = tmp_path / "a.wav"
    sf.write(wav, sine(600, 1.0, 16000), 16000)  # one of the tone model's tones
    env = {"QT_QPA_PLATFORM": "offscreen", "EARMARK_USER_MODELS": str(models), "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", PROBE, str(wav), str(models / "tone.onnx")],
                          capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "Earmark" in result["title"]
    assert result["labels"] == ["tone_600hz"]
    assert result == {**result, "torch": False, "trainer": False}
    assert "Traceback" not in proc.stderr
