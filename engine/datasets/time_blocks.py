"""Honest split groups for few recordings: contiguous time blocks within each recording.

A data set cut from annotated recordings groups its clips by recording, so that neighbouring
(often overlapping) clips of one recording never fall on both sides of a split. With fewer
recordings than a train / validation / test split needs (three), that leaves nothing to split.
:func:`group_by_time_blocks` then cuts each recording into a few contiguous blocks of time
and makes each block a group. A block boundary is only ever placed where no clip — padding
included, as its ``start_s``/``end_s`` record it — crosses it, so no audio is shared between
blocks and so between the sides of a split. What is still shared is the recording itself
(its speakers, room and microphone): figures from such a split are optimistic, and
:func:`describe_blocks` says so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace

from engine.datasets.clips import Clip, Manifest

MIN_HONEST_GROUPS = 3         # train, validation, test
TARGET_GROUPS = 10            # blocks over all recordings together, when the clips allow it


def has_spans(manifest: Manifest) -> bool:
    """Every clip records its source recording and span (``source,start_s,end_s`` in a CSV)."""
    return bool(manifest.clips) and all(c.source and c.start_s is not None and c.end_s is not None
                                        for c in manifest.clips)


def needs_time_blocks(manifest: Manifest) -> bool:
    """Too few groups for an honest three-way split, but spans to cut the recordings by."""
    return has_spans(manifest) and len({c.group for c in manifest.clips}) < MIN_HONEST_GROUPS


def islands(clips: list[Clip]) -> list[list[int]]:
    """Indices of ``clips`` (one recording) in runs whose spans chain-overlap: a boundary
    between two runs is crossed by no clip."""
    order = sorted(range(len(clips)), key=lambda i: (clips[i].start_s, clips[i].end_s))
    runs: list[list[int]] = []
    reach = -math.inf
    for i in order:
        if not runs or clips[i].start_s >= reach:  # starts at or after every earlier clip ended
            runs.append([])
        runs[-1].append(i)
        reach = max(reach, clips[i].end_s)
    return runs


def _blocks(runs: list[list[int]], n_blocks: int) -> list[list[int]]:
    """``runs`` (in time order) joined into at most ``n_blocks`` contiguous blocks of similar size."""
    total = sum(len(r) for r in runs)
    n_blocks = max(1, min(n_blocks, len(runs)))
    blocks: list[list[int]] = [[]]
    done = 0
    for k, run in enumerate(runs):
        left_runs = len(runs) - k
        left_blocks = n_blocks - len(blocks)
        if blocks[-1] and left_blocks > 0 and (done >= total * len(blocks) / n_blocks or left_runs <= left_blocks):
            blocks.append([])
        blocks[-1].extend(run)
        done += len(run)
    return blocks


def group_by_time_blocks(manifest: Manifest, target_groups: int = TARGET_GROUPS) -> Manifest:
    """A copy whose clips are grouped by ``<recording> <start>–<end> s`` blocks (see the module)."""
    if not has_spans(manifest):
        raise ValueError(f"{manifest.root}: the clips do not say where in which recording they were cut "
                         "(source, start_s, end_s), so they cannot be grouped by time blocks")
    by_source: dict[str, list[int]] = defaultdict(list)
    for i, clip in enumerate(manifest.clips):
        by_source[clip.source].append(i)
    per_recording = max(MIN_HONEST_GROUPS, math.ceil(target_groups / len(by_source)))
    groups: list[str] = [c.group for c in manifest.clips]
    for source, members in by_source.items():
        clips = [manifest.clips[i] for i in members]
        for block in _blocks(islands(clips), per_recording):
            start = min(clips[j].start_s for j in block)
            end = max(clips[j].end_s for j in block)
            name = f"{source} {start:.1f}–{end:.1f} s"
            for j in block:
                groups[members[j]] = name
    return manifest.with_clips([replace(c, group=g) for c, g in zip(manifest.clips, groups, strict=True)])


def describe_blocks(manifest: Manifest) -> str:
    """What a person should know about a split grouped by time blocks."""
    recordings = {c.source for c in manifest.clips}
    blocks = {c.group for c in manifest.clips}
    return (f"{len(recordings)} recording(s) are fewer than an honest split needs ({MIN_HONEST_GROUPS}: train, "
            f"validation, test), so the clips are grouped by {len(blocks)} contiguous time blocks within the "
            "recordings; no clip, padding included, crosses a block, so no audio is on two sides. The sides still "
            "share recordings (speakers, room, microphone): expect optimistic figures, and add recordings for "
            "honest ones.")
