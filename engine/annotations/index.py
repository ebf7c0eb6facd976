"""A time index of a track's regions, kept up to date edit by edit, so views of a track with a
million regions answer "what is between t0 and t1", "how many are pending" and "which labels"
without walking every region (an edit costs a bisect, not a sort)."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable

import numpy as np

from engine.annotations.region import Region


class RegionIndex:
    def __init__(self, regions: Iterable[Region] = ()) -> None:
        regions = list(regions)
        self.keys: list[tuple[float, float, str]] = _sorted_keys(regions)
        self.max_duration_s = max((r.end_s - r.start_s for r in regions), default=0.0)
        self.states: Counter[tuple[str, str]] = Counter((r.source, r.state) for r in regions)
        self.labels: Counter[str] = Counter(r.label for r in regions)

    def add(self, region: Region) -> None:
        bisect.insort(self.keys, (region.start_s, region.end_s, region.id))
        self.max_duration_s = max(self.max_duration_s, region.end_s - region.start_s)
        self.states[(region.source, region.state)] += 1
        self.labels[region.label] += 1

    def remove(self, region: Region) -> None:
        key = (region.start_s, region.end_s, region.id)
        i = bisect.bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            del self.keys[i]
        for counter, name in ((self.states, (region.source, region.state)), (self.labels, region.label)):
            counter[name] -= 1
            if counter[name] <= 0:
                del counter[name]

    def span(self, start_s: float, end_s: float) -> tuple[int, int]:
        """The slice of :attr:`keys` that holds every region overlapping ``start_s..end_s`` (and,
        below the longest region's length before it, perhaps a few that end earlier)."""
        lo = bisect.bisect_left(self.keys, (start_s - self.max_duration_s,))
        hi = bisect.bisect_right(self.keys, (end_s, float("inf"), "\uffff"))
        return lo, hi

    def ids_between(self, start_s: float, end_s: float, *, step: int = 1) -> list[str]:
        """Ids of the regions that overlap ``start_s..end_s`` (touching counts), in time order;
        with ``step`` > 1 every ``step``-th of them (a sample, for drawing densities)."""
        lo, hi = self.span(start_s, end_s)
        return [k[2] for k in self.keys[lo:hi:step] if k[1] >= start_s]


def _sorted_keys(regions: list[Region]) -> list[tuple[float, float, str]]:
    """``sorted((start, end, id))``, with the big sort done by numpy, which lets other threads run
    (one ``sorted`` of a million tuples would hold the interpreter for a second: a frozen window
    while an import is indexed in a worker)."""
    starts = np.fromiter((r.start_s for r in regions), dtype=np.float64, count=len(regions))
    ends = np.fromiter((r.end_s for r in regions), dtype=np.float64, count=len(regions))
    order = np.lexsort((ends, starts))
    keys = [(regions[i].start_s, regions[i].end_s, regions[i].id) for i in order.tolist()]
    i = 0
    while i < len(keys) - 1:  # runs of equal times: by id (short runs, fixed in place)
        j = i + 1
        while j < len(keys) and keys[j][:2] == keys[i][:2]:
            j += 1
        if j - i > 1:
            keys[i:j] = sorted(keys[i:j])
        i = j
    return keys
