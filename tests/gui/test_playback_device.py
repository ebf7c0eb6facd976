"""Playback through a real PortAudio output stream (ALSA -> the paced PulseAudio server's null sink,
which has a clock) moves the cursor at the pace of the audio."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import AudioDeviceError
from engine.live.sources import import_sounddevice
from tests.conftest import sine

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys, time
from PySide6.QtWidgets import QApplication
app = QApplication([])
from engine.models.catalog import ModelCatalog
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
t0 = time.monotonic()
while view.player.position_s < 1.0 and time.monotonic() < end:
    app.processEvents(); time.sleep(0.005)
wall = time.monotonic() - t0
position = view.player.position_s
cursor = view.cursors[0].value()
view.player.pause()
print(json.dumps({"device": view.player.device_name, "frames": view.player.device_frames, "cursor": cursor,
                  "wall_s": wall, "position_s": position,
                  "moves": moves, "notices": [n for n in notices if "output device" in n or "PortAudio" in n]}))
view.shutdown()
"""


def test_playback_uses_the_output_device_and_the_cursor_follows(tmp_path, write_wav, paced_mic):
    try:
        import_sounddevice()
    except AudioDeviceError:
        pytest.skip("needs the PortAudio library")
    wav = write_wav("clip.wav", sine(440, 2.0))
    env = {**os.environ, **paced_mic.env, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("ALSA_CONFIG_PATH", None)
    done = subprocess.run([sys.executable, "-c", PROBE, str(wav), str(tmp_path / "s.ini")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["device"] and out["notices"] == []   # a real output stream, no fallback
    assert out["frames"] > 0                        # PortAudio pulled audio from the callback
    moving = [m for m in out["moves"] if 0 < m < 2.0]
    assert len(moving) >= 5 and moving == sorted(moving)  # the cursor advanced in steps, not a jump
    # at the pace of the audio: 1 s of the clip took about 1 s (ALSA's null device: no clock at all)
    assert 0.8 <= out["wall_s"] / out["position_s"] <= 1.6, out
    assert 0.7 <= out["cursor"] <= 1.1
