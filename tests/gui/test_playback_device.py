"""Playback through a real PortAudio output stream (ALSA's null device) moves the cursor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import AudioDeviceError
from engine.sources import import_sounddevice
from tests.conftest import sine
from tests.gui.test_virtual_mic import ASOUNDRC

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys, time
from PySide6.QtWidgets import QApplication
app = QApplication([])
from engine.catalog import ModelCatalog
from gui.file_view import FileView
from gui.settings import Settings
view = FileView(ModelCatalog([]), Settings.at(sys.argv[2]), use_audio_device=True)
notices, moves = [], []
view.status_message.connect(notices.append)
view.player.moved.connect(moves.append)
view.open_file(sys.argv[1])
end = time.monotonic() + 20
while view.audio is None and time.monotonic() < end:
    app.processEvents()
view.player.play()
# ALSA's null device has no clock: position advances in buffer-sized jumps, so wait for moves
# (a cursor that jumped once would never make four), not for a position
while ((len([m for m in moves if m > 0]) < 4 or view.player.position_s < 0.3)
       and view.player.position_s < 1.5 and time.monotonic() < end):
    app.processEvents(); time.sleep(0.005)
cursor = view.cursors[0].value()
view.player.pause()
print(json.dumps({"device": view.player.device_name, "frames": view.player.device_frames, "cursor": cursor,
                  "moves": moves, "notices": [n for n in notices if "output device" in n or "PortAudio" in n]}))
view.shutdown()
"""


def test_playback_uses_the_output_device_and_the_cursor_follows(tmp_path, write_wav):
    try:
        import_sounddevice()
    except AudioDeviceError:
        pytest.skip("needs the PortAudio library")
    wav = write_wav("clip.wav", sine(440, 2.0))
    raw = tmp_path / "mic.raw"
    sine(440, 0.1).tofile(raw)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text(ASOUNDRC.replace("@RAW_PCM_PATH@", str(raw)))
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("ALSA_CONFIG_PATH", None)
    done = subprocess.run([sys.executable, "-c", PROBE, str(wav), str(tmp_path / "s.ini")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["device"] and out["notices"] == []   # a real output stream, no fallback
    assert out["frames"] > 0                        # PortAudio pulled audio from the callback
    moving = [m for m in out["moves"] if 0 < m < 2.0]
    assert len(moving) >= 3 and moving == sorted(moving)  # the cursor advanced in steps, not a jump
    assert 0.2 <= out["cursor"] < 1.0  # the last tick before position 0.3 s
