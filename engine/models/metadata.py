"""The model file's metadata: the JSON object under :data:`METADATA_KEY` in ``metadata_props``.

Labels, sample rate, clip length, architecture, format version and whatever the trainer adds
(training data, split, seeds, metrics, recipe, calibration, per-class thresholds). A model file is
untrusted, so :func:`parse_metadata` checks every field the engine relies on and raises
``ModelLoadError`` naming the file and the problem; :func:`build_metadata` is what the trainer's
export writes, checked the same way.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ModelLoadError
from engine.models.thresholds import METADATA_KEY as METADATA_THRESHOLDS
from engine.models.thresholds import Thresholds, ThresholdsError

METADATA_KEY = "earmark"
FORMAT_VERSION = 1
INPUT_NAME = "waveform"
OUTPUT_NAME = "probs"
MAX_METADATA_BYTES = 1_000_000
MAX_LABELS = 10_000

@dataclass(frozen=True)
class ModelMeta:
    labels: list[str]
    sample_rate_hz: int
    clip_s: float
    architecture: str
    format_version: int
    created_utc: str
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return int(round(self.clip_s * self.sample_rate_hz))

    @property
    def metrics(self) -> dict[str, Any]:
        return self.raw.get("metrics", {})


def build_metadata(
    *, labels: list[str], sample_rate_hz: int, clip_s: float, architecture: str, **extra: Any
) -> dict[str, Any]:
    """The metadata JSON for a model file; validated exactly as loading validates it."""
    meta = {
        "format_version": FORMAT_VERSION,
        "labels": list(labels),
        "sample_rate_hz": int(sample_rate_hz),
        "clip_s": float(clip_s),
        "architecture": architecture,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }
    parse_metadata(json.dumps(meta, default=_json_default), source="metadata")
    return meta


def meta_thresholds(meta: ModelMeta, source: str | os.PathLike) -> Thresholds | None:
    """The metadata's per-class thresholds, checked (None for a model without them)."""
    if METADATA_THRESHOLDS not in meta.raw:
        return None
    try:
        return Thresholds.from_json(meta.raw[METADATA_THRESHOLDS], meta.labels, str(source))
    except ThresholdsError as exc:
        raise ModelLoadError(str(exc)) from None


def parse_metadata(text: str | None, *, source: str | os.PathLike) -> ModelMeta:
    """Validate the metadata JSON; raise ModelLoadError naming ``source`` and the problem."""
    if text is None:
        raise ModelLoadError(
            f"{source}: the model has no Earmark metadata (labels, sample rate, clip length); "
            f"export it with `main.py train` or add a JSON '{METADATA_KEY}' entry to metadata_props"
        )
    if len(text.encode("utf-8", "replace")) > MAX_METADATA_BYTES:
        raise ModelLoadError(f"{source}: the model's metadata is over {MAX_METADATA_BYTES} bytes")
    try:
        raw = json.loads(text)
    except RecursionError as exc:
        raise ModelLoadError(f"{source}: the model's metadata is nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, and int() limits on huge numbers
        raise ModelLoadError(f"{source}: the model's metadata is not valid JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise ModelLoadError(f"{source}: the model's metadata must be a JSON object")
    meta = ModelMeta(
        labels=_check_labels(raw.get("labels"), source),
        sample_rate_hz=_check_number(raw, "sample_rate_hz", 1000, 384_000, source, integer=True),
        clip_s=_check_number(raw, "clip_s", 0.01, 600.0, source),
        architecture=str(raw.get("architecture", "unknown"))[:200],
        format_version=_check_number(raw, "format_version", 1, FORMAT_VERSION, source, integer=True),
        created_utc=str(raw.get("created_utc", ""))[:64],
        raw=raw,
    )
    meta_thresholds(meta, source)   # a malformed thresholds entry refuses the model, naming it
    return meta


def _check_labels(labels: Any, source: str | os.PathLike) -> list[str]:
    if not isinstance(labels, list) or not labels:
        raise ModelLoadError(f"{source}: the model's metadata has no 'labels' list")
    if len(labels) < 2 or len(labels) > MAX_LABELS:
        raise ModelLoadError(f"{source}: a model needs 2 to {MAX_LABELS} labels, this one has {len(labels)}")
    if not all(isinstance(x, str) and x.strip() and len(x) <= 200 for x in labels):
        raise ModelLoadError(f"{source}: every label must be a non-empty string of at most 200 characters")
    for label in labels:
        bad = next((c for c in label if unicodedata.category(c) in _CONTROL_CATEGORIES), None)
        if bad is not None:
            raise ModelLoadError(
                f"{source}: the label {ascii(label)} contains the control character U+{ord(bad):04X} "
                f"({unicodedata.name(bad, 'control')}); labels must be printable text"
            )
    if len(set(labels)) != len(labels):
        raise ModelLoadError(f"{source}: the model's labels are not unique")
    return list(labels)


_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})  # ESC, CR, NUL, bidi overrides...


def _check_number(raw, key, low, high, source, *, integer=False):
    value = raw.get(key)
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or not (low <= value <= high):
        raise ModelLoadError(f"{source}: metadata '{key}' must be a number in [{low}, {high}], got {value!r}")
    return int(value) if integer else float(value)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)
