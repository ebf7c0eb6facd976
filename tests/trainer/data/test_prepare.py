"""Clip preparation's allocator setting: freed arrays are reused, not faulted in again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import json, resource, sys
import numpy as np
sys.path.insert(0, {root!r})
from trainer.data.prepare import keep_freed_memory
tuned = keep_freed_memory() if sys.argv[1] == "tuned" else False
np.ones(1 << 20)                      # 8 MiB, once, so that both runs start alike
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):                   # a clip's worth of temporaries: 10 arrays of 4 MiB, then all freed
    arrays = [np.ones(1 << 19) for _ in range(10)]
    del arrays
print(json.dumps({{"tuned": tuned, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}}))
"""


def _faults(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE.format(root=str(ROOT)), mode], capture_output=True,
                         text=True, check=True, timeout=60)
    return json.loads(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_freed_memory_stops_the_page_faults_of_repeated_arrays():
    plain, tuned = _faults("plain"), _faults("tuned")
    if not tuned["tuned"]:
        pytest.skip("not glibc")
    assert plain["faults"] > 50_000          # most rounds map (and fault in) 10 x 1,024 pages afresh
    assert tuned["faults"] < 0.1 * plain["faults"]  # the freed blocks are reused
