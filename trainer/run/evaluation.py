"""What a run reports, kept honest: clip-level figures, test apart from validation, chance.

A clip longer than the model's window is several cache items (windows); its prediction is
the mean of its windows' probabilities, exactly as ``engine.models.classifier.OnnxClassifier.classify``
averages them, so the figures describe what ``main.py classify`` does with the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from trainer.run import metrics


def clip_probabilities(probs: np.ndarray, y: np.ndarray, clip_indices: Sequence[int]):
    """``(clips, y, probs)``: the items' probabilities averaged per clip, in first-seen order."""
    clip_indices = np.asarray(clip_indices, dtype=np.int64)
    if len(clip_indices) != len(probs):
        raise ValueError(f"{len(probs)} predictions for {len(clip_indices)} items")
    clips, first, inverse = np.unique(clip_indices, return_index=True, return_inverse=True)
    order = np.argsort(first)
    sums = np.zeros((len(clips), probs.shape[1]), dtype=np.float64)
    np.add.at(sums, inverse, probs)
    counts = np.bincount(inverse, minlength=len(clips)).astype(np.float64)
    mean = sums / counts[:, None]
    return clips[order], np.asarray(y)[first[order]], mean[order]


def chance(y_true: Sequence[int], n_classes: int) -> dict[str, float | None]:
    """What always answering the most common class scores on these clips (the floor to beat)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    if not len(y_true):
        return {"accuracy": None, "macro_f1": None}
    counts = np.bincount(y_true, minlength=n_classes)
    share = float(counts.max() / counts.sum())
    present = int((counts > 0).sum())
    return {"accuracy": share, "macro_f1": float(2 * share / (1 + share) / present)}


def seed_figures(labels: Sequence[str], test: tuple | None, val: tuple | None) -> dict[str, Any]:
    """One seed's figures: the test figures at the top level, the validation figures under "val"."""
    out: dict[str, Any] = {}
    if test is not None:
        _, y, probs = test
        out.update(metrics.evaluate(y, probs, labels))
    if val is not None:
        _, y, probs = val
        out["val"] = metrics.evaluate(y, probs, labels)
    return out


def headline(clip_predictions: tuple, labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy and macro F1 of ``(clips, y, probs)``: a second view of the same test clips."""
    _, y, probs = clip_predictions
    figures = metrics.evaluate(y, probs, labels)
    return {key: figures[key] for key in ("accuracy", "macro_f1")}


def summaries(per_seed: Sequence[dict[str, Any]], labels: Sequence[str]) -> dict[str, Any]:
    """``summary`` (test, the headline) and ``val_summary`` (what chose epochs and seeds)."""
    tested = [m for m in per_seed if "accuracy" in m]
    validated = [m["val"] for m in per_seed if "val" in m]
    out: dict[str, Any] = {}
    if tested:
        out["summary"] = metrics.aggregate(tested, labels)
    if validated:
        out["val_summary"] = metrics.aggregate(validated, labels)
    return out


def holdout_description(split, manifest, n_seeds: int) -> str:
    word = {"speaker": "speakers", "fold": "folds", "group": "groups"}.get(split.strategy, "groups")
    test = (f"fold {split.test_fold}" if split.test_fold is not None
            else f"{len(split.test_groups)} {word} ({_names(split.test_groups)})")
    return (f"Hold-out split by {split.strategy}: tested on {len(split.test)} clips from {test} that nothing "
            f"was chosen on; the epoch and seed were chosen on {len(split.val)} validation clips from "
            f"{len(split.val_groups)} other {word}; trained on {len(split.train)} clips; {n_seeds} seed(s).")


def _names(groups: Sequence[str], shown: int = 6) -> str:
    names = ", ".join(list(groups)[:shown])
    return names + (f" and {len(groups) - shown} more" if len(groups) > shown else "")
