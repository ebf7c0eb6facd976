"""How a data set's clips are grouped for an honest split, and whether the data set can be used.

The training wizard's data and split pages show these, and the command line can use them too:
the class counts with their warnings (:func:`summarise`), the columns a split can be grouped by
(:func:`group_columns`), the data set regrouped by one of them (:func:`regroup`), and the
grouping a split starts with (:func:`default_column`: time blocks within each recording when
there are fewer recordings than an honest split needs, see :mod:`engine.datasets.time_blocks`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

from engine.datasets.manifest import Manifest
from engine.datasets.time_blocks import describe_blocks, group_by_time_blocks, has_spans, needs_time_blocks

TINY_CLASS_CLIPS = 5          # fewer clips than this in a class: warn
UNBALANCED_RATIO = 3.0        # largest / smallest class above this: warn
NATIVE = "native"             # the layout's own split groups (EmoDB speaker, ESC-50 source clip, ...)
BLOCKS = "blocks"             # contiguous time blocks within each source recording (few recordings)
SPAN_COLUMNS = ("source", "start_s", "end_s")  # where a clip was cut: not something to group by


@dataclass
class DataSummary:
    counts: dict[str, int]
    warnings: list[str]
    errors: list[str]         # the pipeline cannot use the data set: the page says why and refuses

    @property
    def usable(self) -> bool:
        return not self.errors


def summarise(manifest: Manifest) -> DataSummary:
    """Class counts, warnings about tiny or unbalanced classes, and reasons the data set is unusable."""
    counts = manifest.class_counts()
    warnings, errors = [], []
    present = {label: n for label, n in counts.items() if n > 0}
    if len(present) < 2:
        errors.append(f"{manifest.root}: {len(present)} class(es) found; a classifier needs at least two "
                      "labels with clips")
    tiny = sorted(label for label, n in present.items() if n < TINY_CLASS_CLIPS)
    if tiny:
        warnings.append(f"Tiny classes (fewer than {TINY_CLASS_CLIPS} clips): {', '.join(tiny)} — their "
                        "recall will be noisy")
    if present and min(present.values()) and max(present.values()) / min(present.values()) > UNBALANCED_RATIO:
        big, small = max(present, key=present.get), min(present, key=present.get)
        warnings.append(f"Unbalanced classes: {big} has {present[big]} clips, {small} has {present[small]} "
                        f"(ratio {present[big] / present[small]:.1f}); look at per-class recall, not accuracy")
    if (len({c.group for c in manifest.clips}) < 2 and not any(c.fold is not None for c in manifest.clips)
            and not has_spans(manifest)):  # clips cut from one recording can still be split by time blocks
        errors.append(f"{manifest.root}: every clip is in one split group; a leak-free split needs at "
                      "least two groups (give the CSV a group or fold column)")
    if "audited labels applied" in manifest.notes:
        warnings.append("Audited label edits found beside the data and applied")
    return DataSummary(counts, warnings, errors)


def group_columns(manifest: Manifest) -> dict[str, str]:
    """The columns a split can be grouped by: key -> what the person reads."""
    columns = {NATIVE: _native_name(manifest)}
    if any(c.fold is not None for c in manifest.clips):
        columns["fold"] = "official fold"
    if any(c.speaker for c in manifest.clips) and manifest.layout != "emodb":
        columns["speaker"] = "speaker"
    if has_spans(manifest):
        columns[BLOCKS] = "time blocks within each recording (for few recordings)"
    columns["file"] = "file (each clip its own group)"
    for name in csv_extra_columns(manifest):
        columns[f"csv:{name}"] = f"CSV column '{name}'"
    return columns


def _native_name(manifest: Manifest) -> str:
    return {"esc50": "source clip (src_file)", "emodb": "speaker",
            "folders": "source clip (file stem)", "csv": "CSV group column (or file stem)"}.get(
        manifest.layout, "group")


def csv_extra_columns(manifest: Manifest) -> list[str]:
    if manifest.layout != "csv" or not manifest.root.is_file():
        return []
    with open(manifest.root, newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), [])
    return [h for h in header if h and h not in ("path", "label", "group", "fold", *SPAN_COLUMNS)]


def regroup(manifest: Manifest, column: str) -> Manifest:
    """A copy whose clip ``group`` is ``column`` (``native`` keeps the layout's own groups)."""
    if column in (NATIVE, "fold"):
        return manifest
    if column == "speaker":
        return manifest.with_clips([replace(c, group=c.speaker or c.group) for c in manifest.clips])
    if column == BLOCKS:
        return group_by_time_blocks(manifest)
    if column == "file":
        return manifest.with_clips([replace(c, group=str(c.path)) for c in manifest.clips])
    if column.startswith("csv:"):
        values = _csv_column(manifest, column[4:])
        return manifest.with_clips([replace(c, group=values.get(c.path) or c.group) for c in manifest.clips])
    raise ValueError(f"unknown group column {column!r}; choose one of {', '.join(group_columns(manifest))}")


def default_column(manifest: Manifest) -> str:
    """The grouping a split starts with: the layout's own, or time blocks within each recording
    when there are fewer recordings than an honest split needs (see engine.datasets.time_blocks)."""
    return BLOCKS if needs_time_blocks(manifest) else NATIVE


def grouping_note(manifest: Manifest, column: str) -> str:
    """What a person should know about grouping ``manifest`` by ``column`` ("" when nothing)."""
    return describe_blocks(regroup(manifest, column)) if column == BLOCKS else ""


def _csv_column(manifest: Manifest, name: str) -> dict[Path, str]:
    base = manifest.root.parent
    with open(manifest.root, newline="", encoding="utf-8-sig") as handle:
        return {(base / row["path"].strip()).resolve(): (row.get(name) or "").strip()
                for row in csv.DictReader(handle)}
