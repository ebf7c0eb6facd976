"""A run's figures as a person reads them: the headline, chance, and whether the model is near it.

Qt-free and torch-free; reads a ``metrics.json`` document of either form: the old one (one
``summary``, measured on the validation clips) and the new one (``summary`` = test figures,
``val_summary`` = validation figures, ``pooled`` = cross-validation's out-of-fold figures,
``evaluation`` = the scheme in words, ``chance``).

**Near chance** (the rule the wizard warns by): a model is near chance when its headline
accuracy or its headline macro F1 lies less than a quarter of the way from chance to perfect,

    figure < chance + NEAR_CHANCE_SHARE × (1 − chance),   NEAR_CHANCE_SHARE = 0.25

where chance accuracy is the majority class's share of the evaluated clips (always answering
the most common class) and chance macro F1 is the better of the two naive guessers: the
majority-class answer's macro F1 and 1 / n_classes (guessing among the classes uniformly at
random scores macro F1 1/n on balanced data, and less on unbalanced data). Seven balanced
classes: accuracy below 0.357 or macro F1 below 0.357; two: below 0.625.
"""

from __future__ import annotations

from typing import Any

NEAR_CHANCE_SHARE = 0.25
KEYS = ("accuracy", "macro_f1", "auc_ovr")


def n_runs(summary: dict[str, Any] | None) -> int:
    """How many seeds (times folds) a summary's mean is over."""
    return int((summary or {}).get("n_seeds") or 1)


def format_figure(entry: Any, n: int, digits: int = 3) -> str:
    """``0.812 ± 0.020`` over several seeds or folds, the plain ``0.812`` for one, ``n/a`` for none."""
    if isinstance(entry, (int, float)):
        return f"{entry:.{digits}f}"
    if not entry or entry.get("mean") is None:
        return "n/a"
    if n <= 1 or entry.get("std") is None:
        return f"{entry['mean']:.{digits}f}"
    return f"{entry['mean']:.{digits}f} ± {entry['std']:.{digits}f}"


def has_validation_apart(metrics: dict[str, Any]) -> bool:
    """True for the new form: ``summary`` holds test figures and ``val_summary`` validation ones."""
    return isinstance(metrics.get("val_summary"), dict)


def headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """The figures that stand for the run: cross-validation's pooled ones, else the summary's means.

    ``source`` is "pooled", "test" or "validation" (an old run measured on the validation clips)."""
    pooled = metrics.get("pooled")
    if isinstance(pooled, dict) and pooled.get("accuracy") is not None:
        return {"accuracy": pooled.get("accuracy"), "macro_f1": pooled.get("macro_f1"),
                "auc_ovr": pooled.get("auc_ovr"), "source": "pooled", "n_clips": pooled.get("n_clips")}
    summary = metrics.get("summary") or {}
    source = "test" if has_validation_apart(metrics) or metrics.get("evaluation") else "validation"
    return {**{key: (summary.get(key) or {}).get("mean") for key in KEYS}, "source": source}


def chance(metrics: dict[str, Any]) -> dict[str, Any] | None:
    """Chance for the headline's clips: ``accuracy`` (majority share), ``macro_f1`` (as the module
    says), ``majority`` (the most common class) and ``n_classes``; None when nothing says."""
    labels = list(metrics.get("labels") or [])
    pooled = metrics.get("pooled") if isinstance(metrics.get("pooled"), dict) else None
    matrix = (pooled or {}).get("confusion_matrix") or (metrics.get("summary") or {}).get("confusion_matrix")
    rows = [sum(int(v) for v in row) for row in matrix] if matrix else []
    total = sum(rows)
    n_classes = len(labels) or len(rows)
    if n_classes < 1:
        return None
    given = metrics.get("chance") if isinstance(metrics.get("chance"), dict) else {}
    accuracy = given.get("accuracy")
    majority_f1 = given.get("macro_f1")
    if accuracy is None and total:
        share = max(rows) / total
        present = sum(1 for r in rows if r)
        accuracy, majority_f1 = share, 2 * share / (1 + share) / present
    if accuracy is None:
        return None
    majority = labels[rows.index(max(rows))] if rows and labels and total else None
    return {"accuracy": float(accuracy), "macro_f1": max(float(majority_f1 or 0.0), 1.0 / n_classes),
            "majority": majority, "n_classes": n_classes}


def near_chance_warning(metrics: dict[str, Any]) -> str | None:
    """What to tell a person before exporting a model near chance; None when it is not."""
    figures, floor = headline(metrics), chance(metrics)
    if floor is None:
        return None
    near = []
    for key, name in (("accuracy", "accuracy"), ("macro_f1", "macro F1")):
        value = figures.get(key)
        bar = floor[key] + NEAR_CHANCE_SHARE * (1.0 - floor[key])
        if value is not None and value < bar:
            near.append(f"{name} {value:.3f} (chance {floor[key]:.3f}; a quarter of the way to perfect is {bar:.3f})")
    if not near:
        return None
    majority = f"always answering “{floor['majority']}”, the most common class" if floor["majority"] else \
        "always answering the most common class"
    where = {"pooled": "pooled over every clip's out-of-fold prediction", "test": "on the test clips",
             "validation": "on the validation clips"}[figures["source"]]
    return (f"This model is close to chance {where}: {'; '.join(near)}.\n\n"
            f"Chance here: accuracy {floor['accuracy']:.3f} by {majority}; macro F1 {floor['macro_f1']:.3f} by the "
            f"better of that and guessing one of the {floor['n_classes']} classes at random.\n\n"
            f"It will label most sounds no better than a guess. Export it anyway?")
