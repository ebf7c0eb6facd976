"""What to label next: uncertainty by margin or entropy, spread over classes and recordings."""

from __future__ import annotations

import numpy as np
import pytest

from engine.index.queue import label_queue, uncertainty
from engine.index.search import Index
from engine.index.store import Entry, IndexStore

LABELS = ["a", "b", "c"]


def test_margin_and_entropy():
    probs = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.6, 0.3, 0.1]], np.float32)
    np.testing.assert_allclose(uncertainty(probs, "margin"), [0.0, 1.0, 1.0, 0.7], atol=1e-6)
    entropy = uncertainty(probs, "entropy")
    np.testing.assert_allclose(entropy[[0, 2]], [0.0, 1.0], atol=1e-6)
    assert 0 < entropy[1] < entropy[3] < 1          # a two-way tie is surer than a spread, by entropy
    with pytest.raises(ValueError, match="margin, entropy"):
        uncertainty(probs, "variance")


def _index(tmp_path, recordings: dict[str, np.ndarray]) -> Index:
    """An index whose windows (1 s, hop 1 s... so every other one is free) carry these probabilities."""
    store = IndexStore.create_or_open(tmp_path / "idx", {"folder": str(tmp_path), "labels": LABELS, "dim": 2,
                                                          "window_s": 1.0, "hop_s": 0.5})
    for name, probs in recordings.items():
        n = len(probs)
        store.append(np.arange(n) * 0.5, np.tile([[1.0, 0.0]], (n, 1)), probs)
        store.commit(Entry(path=name, size=1, mtime_ns=1))
    store.close()
    return Index(tmp_path / "idx")


def _probs(answers: list[int], margins: list[float]) -> np.ndarray:
    """Rows answering class ``answers[i]`` with a top-two gap ``margins[i]``."""
    out = np.zeros((len(answers), 3), np.float32)
    for i, (k, gap) in enumerate(zip(answers, margins, strict=True)):
        out[i, k] = (1 + gap) / 2
        out[i, (k + 1) % 3] = (1 - gap) / 2
    return out


def test_the_queue_takes_classes_in_turn_most_uncertain_first_and_spreads_over_places(tmp_path):
    rng = np.random.default_rng(0)
    # one recording full of very uncertain "a" windows, another with a mix
    loud = _probs([0] * 40, list(np.linspace(0.01, 0.05, 40)))
    mixed = _probs([int(k) for k in rng.integers(0, 3, 40)], list(rng.uniform(0.2, 0.9, 40)))
    index = _index(tmp_path, {"loud.wav": loud, "mixed.wav": mixed})
    queue = label_queue(index, n=9, measure="margin")
    assert len(queue) == 9
    assert [q.label for q in queue[:3]] == ["a", "b", "c"]                  # classes take turns
    assert sum(q.recording == "loud.wav" for q in queue) <= 5                # an even share per recording (9/2)
    by_rec = {}
    for q in queue:
        by_rec.setdefault(q.recording, []).append(q.start_s)
    for starts in by_rec.values():                                          # one question per place
        starts.sort()
        assert all(b - a > 1.0 for a, b in zip(starts, starts[1:], strict=False))
    firsts = [q for q in queue if q.label == "a"]
    assert firsts[0].recording == "loud.wav" and firsts[0].uncertainty == pytest.approx(0.99, abs=1e-3)
    for label in "abc":                                                     # within a class, most uncertain first
        mine = [q.uncertainty for q in queue if q.label == label]
        assert mine == sorted(mine, reverse=True)


def test_skipped_rows_are_never_listed_and_a_plain_ranking_would_differ(tmp_path):
    index = _index(tmp_path, {"r.wav": _probs([0, 0, 0, 0, 0, 0, 1, 1], [0.1, 0.9, 0.2, 0.9, 0.3, 0.9, 0.5, 0.6])})
    queue = label_queue(index, n=10, measure="entropy", skip_rows=[0])
    rows = [q.row for q in queue]
    assert 0 not in rows and rows[0] == 2                                    # the most uncertain left, class a
    assert queue[1].label == "b"                                             # then class b's turn
