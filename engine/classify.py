"""Batch classification of files: one bad file never stops the rest."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.audio import is_silent, load_audio
from engine.errors import AudioLoadError
from engine.model import OnnxClassifier


@dataclass
class FileResult:
    path: Path
    probs: np.ndarray | None = None
    labels: list[str] = field(default_factory=list)
    error: str | None = None
    warning: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        if self.probs is None:
            return []
        order = np.argsort(self.probs)[::-1][:k]
        return [(self.labels[i], float(self.probs[i])) for i in order]

    def to_json(self, k: int = 3) -> dict:
        if not self.ok:
            return {"path": str(self.path), "error": self.error}
        (label, confidence), *_ = self.top(1)
        out = {
            "path": str(self.path),
            "label": label,
            "confidence": confidence,
            "top": [{"label": lab, "prob": p} for lab, p in self.top(k)],
            "probs": {lab: float(p) for lab, p in zip(self.labels, self.probs, strict=True)},
        }
        if self.warning:
            out["warning"] = self.warning
        return out


def classify_file(model: OnnxClassifier, path: str | os.PathLike) -> FileResult:
    path = Path(path)
    try:
        audio = load_audio(path, model.meta.sample_rate_hz)
    except AudioLoadError as exc:
        return FileResult(path, error=str(exc))
    warning = None
    if is_silent(audio.samples):
        warning = f"{path}: the clip is silent (below -60 dBFS); its label is only a guess"
    return FileResult(path, model.classify(audio.samples), model.labels, warning=warning)


def classify_files(model: OnnxClassifier, paths) -> list[FileResult]:
    return [classify_file(model, p) for p in paths]
