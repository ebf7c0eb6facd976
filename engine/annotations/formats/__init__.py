"""Region files other tools read and write: Audacity label tracks, Raven selection tables, plain CSV,
Sonic Visualiser layers, Label Studio JSON exports and Praat TextGrids (through ``praatio``).

Why our own small parsers rather than ``crowsetta`` (PyPI, which reads all three and
more): crowsetta pulls in pandas, pandera and attrs and models each format as its own
annotation class with its own time fields, while what Earmark needs is a few dozen lines
per format that map straight onto :class:`engine.annotations.regions.Region`, keep every field a file
carries (frequency band, ``Begin File``, confidence, notes) and write files that read
back *exactly* (shortest round-trip decimal for times). The formats are small and
documented; the parsers are tested against hand-written fixtures from each format's
documentation (tests/engine/annotations/test_interchange.py).

:func:`read_regions` detects the format and returns ``{file name or None: [Region, ...]}``
(``None`` when the file names no recording); :func:`write_regions` writes one format.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.annotations.formats import audacity, labelstudio, raven, sonic, table, textgrid
from engine.annotations.formats.common import InterchangeError
from engine.annotations.regions import SIDECAR_SUFFIX, Region, RegionTrack

FORMATS = ("audacity", "raven", "csv", "sonic", "labelstudio", "textgrid")
SUFFIXES = {"audacity": ".txt", "raven": ".selections.txt", "csv": ".csv", "sonic": ".svl", "labelstudio": ".json",
            "textgrid": textgrid.SUFFIX}

__all__ = ["FORMATS", "InterchangeError", "detect_format", "read_regions", "write_regions"]


def detect_format(path: str | os.PathLike) -> str:
    """One of :data:`FORMATS`, or ``earmark`` (a region sidecar), from the name and first line."""
    path = Path(path)
    if path.name.endswith(SIDECAR_SUFFIX):
        return "earmark"
    suffix = path.suffix.lower()
    if suffix in (".csv", ".svl", ".json", ".textgrid"):
        return {".csv": "csv", ".svl": "sonic", ".json": "labelstudio", ".textgrid": "textgrid"}[suffix]
    try:
        with open(path, "rb") as handle:
            raw = handle.read(8192)
    except OSError as exc:
        raise InterchangeError(f"{path}: cannot read the label file ({exc.strerror or exc})") from exc
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"  # Praat writes UTF-16 too
    head = raw.decode(encoding, errors="replace")
    if textgrid.looks_like_textgrid(head):
        return "textgrid"
    return "raven" if raven.looks_like_raven(head.splitlines()[0] if head else "") else "audacity"


def read_regions(path: str | os.PathLike, fmt: str | None = None) -> dict[str | None, list[Region]]:
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt == "earmark":
        audio = path.with_name(path.name[: -len(SIDECAR_SUFFIX)])
        return {audio.name: RegionTrack.open(audio, autosave=False).regions}
    readers = {"audacity": audacity.read, "raven": raven.read, "csv": table.read, "sonic": sonic.read,
               "labelstudio": labelstudio.read, "textgrid": textgrid.read}
    if fmt not in readers:
        raise InterchangeError(f"{path}: unknown label format {fmt!r}; valid: {', '.join(FORMATS)}")
    return readers[fmt](path)


def write_regions(path: str | os.PathLike, regions, fmt: str, **kwargs) -> Path:
    """Write ``regions`` (a list, or ``{file name: list}`` for Raven/CSV) atomically to ``path``."""
    writers = {"audacity": audacity.write, "raven": raven.write, "csv": table.write, "sonic": sonic.write,
               "labelstudio": labelstudio.write, "textgrid": textgrid.write}
    if fmt not in writers:
        raise InterchangeError(f"{path}: unknown label format {fmt!r}; valid: {', '.join(FORMATS)}")
    writers[fmt](Path(path), regions, **kwargs)
    return Path(path)
