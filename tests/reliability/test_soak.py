"""A bounded soak of the live view on the real capture path (PortAudio -> ALSA -> PulseAudio, paced).

Runs ``scripts/soak.py`` for ``EARMARK_SOAK_S`` seconds (15 by default) in a subprocess, as
the longer run for docs/RELIABILITY.md does: no dropped or repeated sample (a counting ramp
is checked through the ring buffer), no overflow, memory flat once warm, latency bounded, and
capture at the microphone's clock (tests/paced_mic.py), neither slower nor faster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paced_mic import missing_reason

ROOT = Path(__file__).resolve().parents[2]
SOAK_S = float(os.environ.get("EARMARK_SOAK_S", "15"))


def _portaudio_ok() -> bool:
    try:
        import sounddevice  # noqa: F401
    except OSError:
        return False
    return True


@pytest.mark.timeout(int(SOAK_S) + 120)
@pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))
@pytest.mark.skipif(not _portaudio_ok(), reason="needs the PortAudio library (Debian: libportaudio2)")
def test_live_view_soak_on_the_virtual_microphone(tmp_path):
    pytest.importorskip("onnx")  # the built-in tone model is written with onnx.helper
    out = tmp_path / "soak.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "scripts/soak.py", "--seconds", str(SOAK_S), "--json", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=SOAK_S + 100)
    assert out.exists(), done.stderr[-3000:]
    figures = json.loads(out.read_text())
    print(json.dumps({k: v for k, v in figures.items() if k != "rss"}, indent=1), figures["rss"]["steady_growth_mib"])
    assert figures["error"] == ""
    assert figures["overflows"] == 0
    assert figures["ramp_gaps"] == 0 and figures["lapped_samples"] == 0
    assert figures["classifier_skipped_samples"] == 0
    # capture kept pace with the feeder's clock (a 0.5 s start-up allowance)
    assert figures["samples_checked"] >= 16000 * (figures["seconds"] - 0.5) * 0.97
    assert figures["samples_checked"] <= 16000 * (figures["seconds"] + 0.5) * 1.03  # an unpaced source: ~1000x
    hops = figures["seconds"] / 0.5
    assert figures["results"] >= 0.8 * hops
    assert figures["rss"]["steady_growth_mib"] < 6.0, figures["rss"]
    latency = figures["latency"]["all"]
    assert latency["p50_ms"] < 100 and latency["max_ms"] < 1000, latency
    assert done.returncode == 0, done.stderr[-3000:]
