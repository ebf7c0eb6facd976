"""The manifest a training run splits: the data set as read, or — with fewer source recordings
than a train / validation / test split needs and clips that say where they were cut —
grouped by contiguous time blocks within each recording (:mod:`engine.datasets.time_blocks`).
The grouping is deterministic, so every run of a cross-validation and its refit see the same
groups, and the wizard's own regrouped data (three groups or more) is left as it is."""

from __future__ import annotations

from engine.datasets.manifest import Manifest, read_manifest
from engine.datasets.time_blocks import describe_blocks, group_by_time_blocks, needs_time_blocks


def training_manifest(data, layout: str | None) -> tuple[Manifest, str]:
    """(the manifest to split, what a person should be told about its grouping, or "")."""
    manifest = read_manifest(data, layout)
    if not needs_time_blocks(manifest):
        return manifest, ""
    grouped = group_by_time_blocks(manifest)
    return grouped, describe_blocks(grouped)
