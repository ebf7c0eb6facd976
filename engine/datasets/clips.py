"""The data-set rows every layout becomes (:class:`Clip`, :class:`Manifest`) and the label rules.

Plain data, imported by both :mod:`engine.datasets.manifest` (which reads layouts) and
:mod:`engine.datasets.edits` (which edits labels), so neither needs the other's module to
describe a clip: the two used to import each other.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.jobs import JobWarning

MAX_LABEL_CHARS = 200  # the model metadata's own limit (engine.models.classifier): a longer label cannot be exported
# bidirectional overrides and isolates: they reorder what a terminal or a table shows
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


@dataclass(frozen=True)
class Clip:
    path: Path
    label: str
    group: str
    fold: int | None = None
    speaker: str | None = None
    flags: tuple[str, ...] = ()
    # where the clip was cut from (a data set made from annotated recordings): the recording's
    # name and the span in it, padding included; two clips of one source whose spans overlap
    # share audio, and the leakage audit treats them as one
    source: str | None = None
    start_s: float | None = None
    end_s: float | None = None


@dataclass
class Manifest:
    root: Path
    layout: str
    clips: list[Clip]
    labels: list[str]
    notes: list[str] = field(default_factory=list)
    # what the person should be told (skipped files, duplicates, a damaged edits file moved
    # aside); callers that show nothing may ignore it
    warnings: list[JobWarning] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> number of files left out

    def class_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.labels, 0)
        for clip in self.clips:
            counts[clip.label] = counts.get(clip.label, 0) + 1
        return counts

    def label_index(self, label: str) -> int:
        return self.labels.index(label)

    def with_clips(self, clips: list[Clip]) -> Manifest:
        return replace(self, clips=list(clips))

    @property
    def data_root(self) -> Path:
        """The folder that clip paths are relative to (the CSV's folder for the CSV layout)."""
        return self.root.parent if self.root.is_file() else self.root


def label_problem(label: Any) -> str | None:
    """Why ``label`` cannot be a class label (None when it can): the same rules as a model's labels."""
    if not isinstance(label, str):
        return f"is a {type(label).__name__}, not text"
    if not label.strip():
        return "is blank"
    if len(label) > MAX_LABEL_CHARS:
        return f"has {len(label)} characters (at most {MAX_LABEL_CHARS})"
    if label != label.strip():
        return "starts or ends with white space"
    for char in label:
        if unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS:
            return f"contains the control character U+{ord(char):04X}"
    return None


def shown_label(label: Any) -> str:
    """A label as an error message shows it: quoted, escaped, at most 60 characters."""
    text = repr(label)
    return text if len(text) <= 60 else text[:57] + "..."
