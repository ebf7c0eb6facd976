"""The map's lasso with the mouse and keyboard as X delivers them (Xvfb, xcb, xdotool): Shift held
while the mouse drags a loop chooses exactly the dots inside it, and a label typed and Return
save each chosen window in its recording's sidecar (tests/gui/map_lasso_probe.py does the work)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_a_shift_drag_lassoes_and_return_labels_on_the_real_x11_platform(xvfb):
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is not installed (Debian package xdotool): no real X mouse to drive")
    env = dict(xvfb.env(), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(ROOT / "tests/gui/map_lasso_probe.py")], env=env,
                          capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["platform"] == "xcb", result
    assert 0 < len(result["expected"]) < result["points"], result
    assert result["chosen"] == result["expected"], result
    assert result["typed"] == "dog bark" and result["labelled"], result
    assert result["saved_as_chosen"] and result["saved"] == len(result["expected"]), result
