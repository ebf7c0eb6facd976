"""A label file of a million rows imported in the Annotate tab (issue 25, D10): the window keeps
repainting, memory stays bounded, the sidecar stays proportional, and a later edit is quick.

``EARMARK_BIG_IMPORT_ROWS`` sets the size (default 1,000,000: about 100 s on two busy cores, so marked slow)."""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from engine.annotations.regions import RegionTrack, sidecar_path

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow,
              pytest.mark.skipif(sys.platform != "linux", reason="/proc/self/status is Linux's")]
ROWS = int(os.environ.get("EARMARK_BIG_IMPORT_ROWS", "1000000"))
SR = 16000


def rss_mb() -> float:
    """Resident memory now (Linux), sampled every heartbeat: ``ru_maxrss`` is the process's peak,
    which a test run before this one in the same process may have set."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


@pytest.fixture
def view(annotate_view):
    return annotate_view


def test_a_million_row_import_keeps_the_window_painting_and_later_edits_quick(qtbot, view, write_wav, tmp_path):
    recording = write_wav("rec.wav", np.zeros(60 * SR, np.float32), SR)
    big = tmp_path / "big.txt"
    with open(big, "w") as out:
        for i in range(ROWS):
            t = i * 50e-6
            out.write(f"{t:.6f}\t{t + 0.04:.6f}\tl{i % 50}\n")
    with qtbot.waitSignal(view.range_shown, timeout=10000):
        assert view.open_file(recording)
    beats: list[float] = []
    rss_seen: list[float] = [rss_mb()]   # this process's memory now (not its peak: earlier tests ran here too)
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: (beats.append(time.monotonic()), rss_seen.append(rss_mb())))
    heartbeat.start(20)
    with qtbot.waitSignal(view.labels_imported, timeout=540_000) as blocker:
        started = time.monotonic()
        assert view.import_labels(big) is not None
        assert time.monotonic() - started < 0.25  # the click returns at once
    qtbot.wait(300)  # the repaint after the import lands
    heartbeat.stop()
    assert blocker.args == [ROWS]
    gaps = np.diff(beats)
    assert len(gaps) > 10 and gaps.max() < 0.25, f"longest GUI stall {gaps.max():.3f} s"
    rss_seen.append(rss_mb())
    rss_before, peak_mb = rss_seen[0], max(rss_seen)
    # what the import adds (the process holds what earlier tests of the same run left: 1.2 GB once)
    assert peak_mb - rss_before < 1024, (rss_before, peak_mb)
    assert sidecar_path(recording).stat().st_size < 12 * big.stat().st_size  # was 23x (531 MB for 22 MB)
    started = time.monotonic()
    view.track.add(1.0, 2.0, "later")
    assert time.monotonic() - started < 0.1
    assert len(RegionTrack.open(recording).regions) == ROWS + 1
