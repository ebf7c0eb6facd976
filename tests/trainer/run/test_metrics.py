"""Metrics match hand-computed values, tolerate absent classes, aggregate over seeds, plot PNGs."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.run.metrics import aggregate, evaluate, format_mean_std, plot_confusion_matrix, plot_curves

LABELS = ["a", "b", "c"]
PNG = b"\x89PNG\r\n\x1a\n"


def test_perfect_predictions():
    y = [0, 1, 2, 1]
    probs = np.eye(3)[y] * 0.8 + 0.2 / 3
    m = evaluate(y, probs, LABELS)
    assert m["accuracy"] == 1.0 and m["macro_f1"] == 1.0 and m["auc_ovr"] == 1.0
    assert m["per_class_recall"] == {"a": 1.0, "b": 1.0, "c": 1.0}
    assert m["confusion_matrix"] == [[1, 0, 0], [0, 2, 0], [0, 0, 1]]


def test_hand_computed_mistakes():
    y = [0, 0, 1, 1]
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1]])
    m = evaluate(y, probs, LABELS)
    assert m["accuracy"] == 0.5
    assert m["per_class_recall"]["a"] == 0.5 and m["per_class_recall"]["b"] == 0.5
    assert m["confusion_matrix"][0] == [1, 1, 0] and m["confusion_matrix"][1] == [1, 1, 0]
    assert m["macro_f1"] == pytest.approx(0.5)
    # AUC for "a" vs rest: scores a=[.9,.2], rest=[.1,.6] -> 3 of 4 pairs ordered = 0.75; "b" likewise
    assert m["auc_ovr"] == pytest.approx(0.75)


def test_a_class_absent_from_validation_is_handled():
    y = [0, 0, 1]
    probs = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.2, 0.5, 0.3]])
    m = evaluate(y, probs, LABELS)
    assert m["per_class_recall"]["c"] is None
    assert m["auc_ovr"] == 1.0
    assert m["classes_in_val"] == ["a", "b"]
    one_class = evaluate([0, 0], probs[:2], LABELS)
    assert one_class["auc_ovr"] is None and one_class["accuracy"] == 1.0


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        evaluate([0, 1], np.ones((2, 2)), LABELS)


def test_aggregate_mean_and_std_over_seeds():
    per_seed = [{"accuracy": 0.5, "macro_f1": 0.4, "auc_ovr": 0.9, "per_class_recall": {"a": 1.0, "b": None},
                 "confusion_matrix": [[1, 0], [1, 0]]},
                {"accuracy": 0.7, "macro_f1": 0.6, "auc_ovr": None, "per_class_recall": {"a": 0.5, "b": 0.25},
                 "confusion_matrix": [[0, 1], [0, 1]]}]
    agg = aggregate(per_seed, ["a", "b"])
    assert agg["accuracy"]["mean"] == pytest.approx(0.6) and agg["accuracy"]["std"] == pytest.approx(0.1)
    assert agg["auc_ovr"] == {"mean": 0.9, "std": 0.0}
    assert agg["per_class_recall"]["b"] == {"mean": 0.25, "std": 0.0}
    assert agg["confusion_matrix"] == [[1, 1], [1, 1]]
    assert format_mean_std(agg["accuracy"]) == "0.600 ± 0.100"
    assert format_mean_std({"mean": None, "std": None}) == "n/a"


def test_figures_are_written_as_png(tmp_path):
    plot_confusion_matrix([[3, 1, 0], [0, 2, 2], [0, 0, 4]], LABELS, tmp_path / "cm.png")
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "val_acc": 0.3 * e} for e in (1, 2, 3)]
    plot_curves({1: history, 2: history}, tmp_path / "curves.png")
    for name in ("cm.png", "curves.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 5000
    assert not list(tmp_path.glob(".*.tmp*"))
