"""Label Studio JSON exports of audio tasks (the "JSON" export of a project).

A list of tasks, each ``{"data": {"audio": URL}, "annotations": [{"result": [...]}]}``; a
region is a result of ``"type": "labels"`` with ``value.start``/``value.end`` in seconds
and ``value.labels``. Results of ``"predictions"`` read as pending suggestions. The file
a task names is the last part of its audio URL (``/data/upload/3/rec.wav`` -> ``rec.wav``).
Earmark writes one task per recording with one annotation.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from urllib.parse import unquote, urlparse

from engine.annotations.formats.common import InterchangeError
from engine.annotations.regions import PENDING, SUGGESTION, Region, RegionError
from engine.atomic import atomic_write_text


def read(path: Path) -> dict[str | None, list[Region]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except RecursionError:
        raise InterchangeError(f"{path}: nested too deeply to be a Label Studio JSON export") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InterchangeError(f"{path}: not a readable Label Studio JSON export ({exc})") from exc
    tasks = doc if isinstance(doc, list) else [doc]
    out: dict[str | None, list[Region]] = {}
    for t, task in enumerate(tasks, start=1):
        try:
            _read_task(task, out, f"{path}, task {t}")
        except (AttributeError, TypeError) as exc:  # a list where an object belongs, and the like
            raise InterchangeError(f"{path}, task {t}: not a Label Studio task ({exc})") from None
    return out


def _read_task(task: dict, out: dict[str | None, list[Region]], where: str) -> None:
    regions = out.setdefault(_file_of(task.get("data") or {}), [])
    for kind, extra in (("annotations", {}), ("predictions", {"source": SUGGESTION, "state": PENDING})):
        for item in task.get(kind) or []:
            for result in item.get("result") or []:
                if result.get("type") == "labels":
                    regions.append(_region(result, extra, where))


def _file_of(data: dict) -> str | None:
    url = data.get("audio") or next((v for v in data.values() if isinstance(v, str)), None)
    if not url:
        return None
    return Path(unquote(urlparse(url).path)).name or None


def _region(result: dict, extra: dict, where: str) -> Region:
    value = result.get("value") or {}
    if not isinstance(value, dict):
        raise InterchangeError(f"{where}: a labels result whose value is not an object")
    labels = value.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise InterchangeError(f"{where}: 'labels' must be a list of texts, got {str(labels)[:60]!r}")
    score = result.get("score")
    if score is not None and not _finite(score):
        raise InterchangeError(f"{where}: 'score' must be a finite number, got {str(score)[:60]!r}")
    try:
        start, end = _seconds(value, "start", where), _seconds(value, "end", where)
        if result.get("id") is not None:
            extra = {**extra, "id": str(result["id"])}  # Label Studio's region id, kept for a round trip
        return Region(start, end, labels[0] if labels else "", confidence=None if score is None else float(score),
                      **extra)
    except RegionError as exc:
        raise InterchangeError(f"{where}: {exc}") from None


def _seconds(value: dict, key: str, where: str) -> float:
    """A time: a number, or a number written as text (never true/false, never NaN)."""
    raw = value.get(key)
    number = raw
    if isinstance(raw, str):
        try:
            number = float(raw)
        except ValueError:
            number = None
    if not _finite(number):
        raise InterchangeError(f"{where}: a labels result needs a finite '{key}' in seconds, got {str(raw)[:60]!r}")
    return float(number)


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def write(path: Path, regions, **_: object) -> None:
    atomic_write_text(path, dumps(regions))


def dumps(regions) -> str:
    by_file = regions if isinstance(regions, dict) else {None: list(regions)}
    tasks = []
    for n, (name, rs) in enumerate(by_file.items(), start=1):
        result = [{"id": r.id, "from_name": "label", "to_name": "audio", "type": "labels", "origin": "manual",
                   "value": {"start": r.start_s, "end": r.end_s, "channel": 0, "labels": [r.label]}}
                  for r in sorted(rs, key=lambda r: (r.start_s, r.end_s))]
        tasks.append({"id": n, "data": {"audio": name or ""}, "annotations": [{"result": result}]})
    return json.dumps(tasks, indent=2) + "\n"
