"""Classification metrics, their mean ± std over seeds, and the run's figures.

``evaluate`` returns plain Python numbers and lists, ready for ``metrics.json``.
Classes absent from the validation set get ``None`` recall and are left out of
the one-vs-rest AUC (which is ``None`` when fewer than two classes are present).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.atomic import atomic_write_with

SCALAR_KEYS = ("accuracy", "macro_f1", "auc_ovr")


def evaluate(y_true: Sequence[int], probs: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro F1, one-vs-rest AUC, per-class recall and the confusion matrix."""
    from sklearn.metrics import confusion_matrix, f1_score

    y_true = np.asarray(y_true, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    n_classes = len(labels)
    if probs.shape != (len(y_true), n_classes):
        raise ValueError(f"probabilities have shape {probs.shape}, expected ({len(y_true)}, {n_classes})")
    y_pred = probs.argmax(axis=1) if len(y_true) else np.zeros(0, dtype=np.int64)
    all_classes = np.arange(n_classes)
    matrix = confusion_matrix(y_true, y_pred, labels=all_classes) if len(y_true) else \
        np.zeros((n_classes, n_classes), dtype=np.int64)
    present = sorted(set(y_true.tolist()))
    recall: dict[str, float | None] = {}
    for c, label in enumerate(labels):
        support = matrix[c].sum()
        recall[label] = float(matrix[c, c] / support) if support else None
    macro_f1 = float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)) \
        if present else None
    return {
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else None,
        "macro_f1": macro_f1,
        "auc_ovr": auc_ovr(y_true, probs, present),
        "per_class_recall": recall,
        "confusion_matrix": matrix.astype(int).tolist(),
        "n_val": int(len(y_true)),
        "classes_in_val": [labels[c] for c in present],
    }


def auc_ovr(y_true: np.ndarray, probs: np.ndarray, present: Sequence[int]) -> float | None:
    """Macro one-vs-rest ROC AUC over the classes present in ``y_true``."""
    from sklearn.metrics import roc_auc_score

    if len(present) < 2:
        return None
    scores = [float(roc_auc_score(y_true == c, probs[:, c])) for c in present]
    return float(np.mean(scores))


def aggregate(per_seed: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> dict[str, Any]:
    """Mean and (population) std over seeds of the scalar metrics and per-class recall."""
    out: dict[str, Any] = {"n_seeds": len(per_seed)}
    for key in SCALAR_KEYS:
        out[key] = _mean_std([m.get(key) for m in per_seed])
    out["per_class_recall"] = {
        label: _mean_std([m.get("per_class_recall", {}).get(label) for m in per_seed]) for label in labels
    }
    if per_seed:
        matrices = np.array([m["confusion_matrix"] for m in per_seed], dtype=np.int64)
        out["confusion_matrix"] = matrices.sum(axis=0).tolist()  # summed over seeds
    return out


def _mean_std(values: Sequence[float | None]) -> dict[str, float | None]:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return {"mean": None, "std": None}
    return {"mean": float(np.mean(finite)), "std": float(np.std(finite))}


def format_mean_std(entry: Mapping[str, float | None], digits: int = 3) -> str:
    if entry.get("mean") is None:
        return "n/a"
    return f"{entry['mean']:.{digits}f} ± {entry['std']:.{digits}f}"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_confusion_matrix(matrix: Sequence[Sequence[int]], labels: Sequence[str], path: Path,
                          title: str = "Confusion matrix (validation)") -> None:
    """Row-normalised confusion matrix as a PNG (counts written in the cells when few classes)."""
    plt = _pyplot()
    m = np.asarray(matrix, dtype=np.float64)
    rows = m.sum(axis=1, keepdims=True)
    norm = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    size = max(4.0, 0.35 * len(labels) + 2.0)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if len(labels) <= 15:
        for (i, j), count in np.ndenumerate(m):
            if count:
                ax.text(j, i, int(count), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    _save(fig, path)


def plot_curves(histories: Mapping[str, Sequence[Mapping[str, float]]], path: Path) -> None:
    """Training/validation loss and validation accuracy per epoch, one line per seed."""
    plt = _pyplot()
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for seed, history in histories.items():
        epochs = [h["epoch"] for h in history]
        loss_ax.plot(epochs, [h["train_loss"] for h in history], "--", label=f"train, seed {seed}")
        loss_ax.plot(epochs, [h["val_loss"] for h in history], "-", label=f"val, seed {seed}")
        acc_ax.plot(epochs, [h["val_acc"] for h in history], "-", label=f"seed {seed}")
    loss_ax.set(xlabel="epoch", ylabel="loss", title="Loss")
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="Validation accuracy", ylim=(0, 1))
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)


def _save(fig, path: Path) -> None:
    plt = _pyplot()
    try:
        atomic_write_with(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"), suffix=".png")
    finally:
        plt.close(fig)
