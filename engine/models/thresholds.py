"""Per-class thresholds: a model answers a class only when that class's score reaches its threshold,
and otherwise says "nothing recognised" instead of guessing.

Part of the model-file contract (docs/MODELS.md), optional: the metadata's ``thresholds`` entry is
``{"rule": text, "fitted_on": text, "per_class": {label: minimum probability}, "curves": {label:
[[threshold, precision, recall], ...]}}``. A model without it labels as before (every class
passes). The person can change a threshold (the app's threshold editor, which shows the precision
and recall the run's out-of-fold predictions imply through ``curves``); changes are kept in the
user data folder per model content (:func:`save_user_thresholds`), never written into the model
file, and ``classify``, the Live tab, ``--segments`` and Suggest all apply them.

The rule the trainer fits with (:func:`fit`): for each class, the lowest score at which the
model's answers of that class reach :data:`TARGET_PRECISION` precision on predictions of clips no
model choice saw (cross-validation's pooled out-of-fold predictions, or a hold-out run's
validation side); where no score reaches it, the score with the best F1 for that class.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

METADATA_KEY = "thresholds"
TARGET_PRECISION = 0.9
RULE = (f"per class, the lowest score whose answers of that class reach precision {TARGET_PRECISION:g} on "
        "predictions of clips no choice saw; where none does, the score with the best F1")
CURVE_POINTS = 21


class ThresholdsError(ValueError):
    """A thresholds entry (in a model's metadata or a user file) is unusable; the message says why."""


@dataclass(frozen=True)
class Decision:
    """What to show for one answer: ``label`` None when no class reached its threshold."""

    label: str | None
    index: int | None
    score: float
    reason: str = ""


@dataclass(frozen=True)
class Thresholds:
    per_class: dict[str, float]
    rule: str = ""
    fitted_on: str = ""
    curves: dict[str, list[list[float]]] = field(default_factory=dict)

    def threshold(self, label: str) -> float:
        return float(self.per_class.get(label, 0.0))

    def decide(self, probs: np.ndarray, labels: list[str]) -> Decision:
        """The top class when its score reaches its threshold, else no label and why."""
        return decide(probs, labels, self)

    def with_threshold(self, label: str, value: float) -> Thresholds:
        if not 0.0 <= float(value) <= 1.0:
            raise ThresholdsError(f"a threshold is a probability in [0, 1], got {value}")
        return Thresholds({**self.per_class, label: float(value)}, self.rule, self.fitted_on, self.curves)

    def implied(self, label: str, value: float | None = None) -> tuple[float, float] | None:
        """(precision, recall) the fitting predictions imply for ``label`` at ``value`` (default:
        its threshold), interpolated on the stored curve; None without a curve."""
        curve = self.curves.get(label)
        if not curve:
            return None
        t = self.threshold(label) if value is None else float(value)
        points = np.asarray(curve, dtype=np.float64)
        return (float(np.interp(t, points[:, 0], points[:, 1])), float(np.interp(t, points[:, 0], points[:, 2])))

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "fitted_on": self.fitted_on, "per_class": dict(self.per_class),
                "curves": {k: [list(map(float, p)) for p in v] for k, v in self.curves.items()}}

    @classmethod
    def from_json(cls, doc: Any, labels: list[str], source: str) -> Thresholds:
        """Checked: a mapping whose ``per_class`` maps this model's labels to probabilities."""
        if not isinstance(doc, dict) or not isinstance(doc.get("per_class"), dict):
            raise ThresholdsError(f"{source}: 'thresholds' must be an object with a 'per_class' object")
        per_class = {}
        for label, value in doc["per_class"].items():
            if label not in labels:
                raise ThresholdsError(f"{source}: a threshold names {label!r}, which is not one of the model's labels")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0 \
                    or not math.isfinite(value):
                raise ThresholdsError(f"{source}: the threshold of {label!r} must be a probability in [0, 1], "
                                      f"got {value!r}")
            per_class[label] = float(value)
        curves = {}
        for label, points in (doc.get("curves") or {}).items():
            try:
                array = np.asarray(points, dtype=np.float64)
            except (TypeError, ValueError):
                raise ThresholdsError(f"{source}: the curve of {label!r} is not a list of numbers") from None
            if label not in labels or array.ndim != 2 or array.shape[1] != 3 or not np.isfinite(array).all() \
                    or len(array) > 1000:
                raise ThresholdsError(f"{source}: the curve of {label!r} must be [[threshold, precision, recall], ...]")
            curves[label] = array.tolist()
        return cls(per_class, str(doc.get("rule", ""))[:500], str(doc.get("fitted_on", ""))[:500], curves)


def decide(probs: np.ndarray, labels: list[str], thresholds: Thresholds | None) -> Decision:
    probs = np.asarray(probs, dtype=np.float64).reshape(-1)
    index = int(np.argmax(probs))
    score, label = float(probs[index]), labels[index]
    if thresholds is None or score >= thresholds.threshold(label):
        return Decision(label, index, score)
    return Decision(None, None, score, f"nothing recognised: the best answer, {label} at {score:.2f}, is under "
                                       f"its threshold {thresholds.threshold(label):.2f}")


def fit(probs: np.ndarray, truth: np.ndarray, labels: list[str], *, fitted_on: str,
        target_precision: float = TARGET_PRECISION) -> Thresholds:
    """Thresholds by :data:`RULE` from predictions ``probs`` [n, classes] of clips whose true class
    indices are ``truth`` [n], with each class's precision/recall curve."""
    probs = np.asarray(probs, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.int64)
    top = probs.argmax(axis=1)
    per_class, curves = {}, {}
    grid = np.linspace(0.0, 1.0, CURVE_POINTS)
    for c, label in enumerate(labels):
        scores = probs[:, c]
        answered = top == c
        positives = int((truth == c).sum())
        candidates = np.unique(np.concatenate([[0.0], scores[answered]]))
        best_f1, best_t, chosen = -1.0, 0.0, None
        for t in candidates:   # ascending: the first that reaches the target is the lowest
            precision, recall = _precision_recall(scores, answered, truth == c, positives, t)
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            if f1 > best_f1:
                best_f1, best_t = f1, float(t)
            if chosen is None and precision >= target_precision and recall > 0:
                chosen = float(t)
        per_class[label] = round(chosen if chosen is not None else best_t, 6)
        curves[label] = [[float(t), *_precision_recall(scores, answered, truth == c, positives, t)] for t in grid]
    return Thresholds(per_class, RULE, fitted_on, curves)


def _precision_recall(scores, answered, is_class, positives: int, t: float) -> tuple[float, float]:
    shown = answered & (scores >= t)
    n = int(shown.sum())
    hits = int((shown & is_class).sum())
    return (hits / n if n else 1.0, hits / positives if positives else 0.0)


# ---- the person's changes, per model content, outside the model file ---------------------------
def user_thresholds_path(model_path: str | os.PathLike) -> Path:
    from engine.models.vet import content_digest
    from engine.userdirs import user_data_dir

    folder = Path(os.environ.get("EARMARK_THRESHOLDS_DIR") or user_data_dir() / "thresholds")
    return folder / f"{content_digest(model_path)[:32]}.json"


def load_user_thresholds(model_path, labels: list[str]) -> Thresholds | None:
    """The person's thresholds for this model file (None when none were saved). A damaged file is
    ignored with a ThresholdsError naming it, never half-applied."""
    path = user_thresholds_path(model_path)
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise ThresholdsError(f"{path}: the saved thresholds cannot be read ({exc})") from exc
    return Thresholds.from_json(doc, labels, str(path))


def save_user_thresholds(model_path, thresholds: Thresholds) -> Path:
    from engine.atomic import atomic_write_json

    path = user_thresholds_path(model_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, thresholds.to_json())
    return path
