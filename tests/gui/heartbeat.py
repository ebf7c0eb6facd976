"""An event-loop heartbeat: how long the GUI thread was kept from its event loop.

A 10 ms QTimer on the GUI thread notes the time of every tick; the longest gap between
two ticks is the longest stall a person would have seen (no repaint, no key handled).
Phases let one test measure several steps (open a data set, move through clips, preview
augmentations, open the wizard) and report each:

    beat = Heartbeat()
    with beat.phase("open"):
        ...                      # drive the app; wait with qtbot.waitUntil / waitSignal
    assert beat.longest_s("open") < 0.25, beat.report()

``EARMARK_STALL_DUMP=FILE`` (and ``EARMARK_STALL_DUMP_S``, default 0.15) writes every thread's stack to
FILE whenever a tick is that late: each tick re-arms ``faulthandler.dump_traceback_later``, whose
watchdog is C and needs no interpreter lock, so it does not change what it measures (how the
last cause of the million-row import's stalls was found: docs/RELIABILITY.md D10).
"""

from __future__ import annotations

import faulthandler
import os
import time
from contextlib import contextmanager

from PySide6.QtCore import QTimer

INTERVAL_MS = 10


class Heartbeat:
    def __init__(self, interval_ms: int = INTERVAL_MS) -> None:
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last: float | None = None
        self._current: str | None = None
        self.longest: dict[str, float] = {}
        self.ticks: dict[str, int] = {}
        dump = os.environ.get("EARMARK_STALL_DUMP")
        self._dump = open(dump, "a") if dump else None  # noqa: SIM115 (written by faulthandler until stop)
        self._dump_s = float(os.environ.get("EARMARK_STALL_DUMP_S", "0.15"))

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None and self._current is not None:
            gap = now - self._last
            self.longest[self._current] = max(self.longest.get(self._current, 0.0), gap)
            self.ticks[self._current] = self.ticks.get(self._current, 0) + 1
        self._last = now
        if self._dump is not None:
            faulthandler.dump_traceback_later(self._dump_s, repeat=False, file=self._dump)

    @contextmanager
    def phase(self, name: str):
        """Measure the stalls of the code run inside (the phase ends with one last tick)."""
        self._current = name
        self.longest.setdefault(name, 0.0)
        self._last = time.perf_counter()
        self._timer.start()
        try:
            yield self
        finally:
            self._tick()  # a stall at the very end counts too
            self._timer.stop()
            self._current = None
            if self._dump is not None:
                faulthandler.cancel_dump_traceback_later()

    def longest_s(self, name: str | None = None) -> float:
        """The longest stall of one phase, or of all."""
        if name is not None:
            return self.longest.get(name, 0.0)
        return max(self.longest.values(), default=0.0)

    def report(self) -> str:
        return ", ".join(f"{name}: longest stall {gap * 1000:.0f} ms over {self.ticks.get(name, 0)} ticks"
                         for name, gap in self.longest.items())
