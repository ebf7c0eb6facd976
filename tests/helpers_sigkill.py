"""Kill a saving child process at random moments and check the file after each kill.

Shared by the crash-safety tests of label edits and region sidecars: ``child_code`` prints
"ready" once it has opened its file and then saves in a loop; ``check(previous)`` reads the
file after each kill, asserts it is whole, and returns what it holds now (e.g. its length).
The random delay is the point of the test (a kill at any moment), not a wait for a condition.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def kill_during_saves(child_code: str, arg: str, *, kills: int, seed: int,
                      check: Callable[[int], int]) -> tuple[int, int]:
    """Return (how many children died of SIGKILL, what the last ``check`` returned)."""
    rng = np.random.default_rng(seed)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = saved = 0
    for _ in range(kills):
        child = subprocess.Popen([sys.executable, "-c", child_code, arg], env=env, stdout=subprocess.PIPE,
                                 text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.01, 0.15)))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()
        killed += child.returncode == -signal.SIGKILL
        saved = check(saved)
    return killed, saved
