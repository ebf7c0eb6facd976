"""Sonic Visualiser annotation layers (``.svl``, XML), as Sonic Visualiser saves them.

A layer file holds one ``<model>`` (``sampleRate``; ``subtype="region"`` for a region
layer, a time-instants layer has no durations) and a ``<dataset>`` of ``<point frame=...
duration=... label=.../>`` in sample frames. Regions read with ``duration`` (0 for an
instant); a region's ``value`` (its height in a region layer) is not kept. Earmark writes a
region layer; frames are whole samples, so times round to the sample rate given.
"""

from __future__ import annotations

import math
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import quoteattr

from engine.annotations.formats.common import InterchangeError, clean_text
from engine.annotations.regions import Region, RegionError
from engine.atomic import atomic_write_text

DEFAULT_RATE_HZ = 44100


def looks_like_svl(head: str) -> bool:
    return "<sv>" in head or "sonic-visualiser" in head


def read(path: Path) -> dict[str | None, list[Region]]:
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError, LookupError, ValueError) as exc:  # LookupError: a bad encoding
        raise InterchangeError(f"{path}: not a readable Sonic Visualiser layer ({exc})") from exc
    model = root.find("./data/model")
    if model is None or root.find("./data/dataset") is None:
        raise InterchangeError(f"{path}: no <model> and <dataset> in this Sonic Visualiser file")
    try:
        rate = float(model.get("sampleRate", ""))
    except ValueError:
        rate = math.nan
    if not (math.isfinite(rate) and rate > 0):
        raise InterchangeError(f"{path}: the model has no usable sampleRate ({model.get('sampleRate')!r:.40})")
    regions = []
    for n, point in enumerate(root.iterfind("./data/dataset/point"), start=1):
        try:
            start = int(point.get("frame", "")) / rate
            duration = int(point.get("duration", "0") or 0) / rate
            regions.append(Region(start, start + duration, point.get("label", "").strip()))
        except OverflowError:
            raise InterchangeError(f"{path}, point {n}: a frame number too large to be a time") from None
        except (ValueError, RegionError) as exc:
            raise InterchangeError(f"{path}, point {n}: {str(exc)[:200]}") from None
    return {None: regions}


def write(path: Path, regions, *, sample_rate_hz: int | None = None, **_: object) -> None:
    if isinstance(regions, dict):
        if len(regions) > 1:
            raise InterchangeError(f"{path}: a Sonic Visualiser layer holds one recording's regions")
        regions = next(iter(regions.values()), [])
    atomic_write_text(path, dumps(regions, sample_rate_hz=sample_rate_hz or DEFAULT_RATE_HZ))


def dumps(regions, *, sample_rate_hz: int = DEFAULT_RATE_HZ) -> str:
    rows = sorted(regions, key=lambda r: (r.start_s, r.end_s))
    frames = [(round(r.start_s * sample_rate_hz), round(r.duration_s * sample_rate_hz), r) for r in rows]
    end = max((f + d for f, d, _ in frames), default=0)
    points = "".join(f'      <point frame="{f}" value="0" duration="{d}" label={quoteattr(clean_text(r.label))} />\n'
                     for f, d, r in frames)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE sonic-visualiser>\n<sv>\n  <data>\n'
            f'    <model id="1" name="Earmark regions" sampleRate="{sample_rate_hz}" start="0" end="{end}" '
            'type="sparse" dimensions="3" resolution="1" notifyOnAdd="true" dataset="0" subtype="region" '
            'minimum="0" maximum="0" units=""/>\n'
            '    <dataset id="0" dimensions="3">\n' + points + '    </dataset>\n  </data>\n'
            '  <display>\n    <layer id="2" type="regions" name="Earmark regions" model="1"/>\n  </display>\n</sv>\n')
