"""More like this: the library search and `main.py index` / `main.py similar` on the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.commands.index import parse_like
from engine.index.build import IndexRequest, index_job
from engine.index.fewshot import fit_examples, fit_scorer
from engine.index.search import Index, example_vectors, similar
from tests.engine.index.helpers import BURST_S, HIGH_AT_S, LOW_AT_S, NAMES, shift_s, write_folder, write_model

REPO = Path(__file__).resolve().parents[3]


def _burst(name: str, at_s: float) -> tuple[float, float]:
    start = at_s + shift_s(NAMES.index(name))
    return start, start + BURST_S


def _inside(hit, span: tuple[float, float]) -> bool:
    """The hit's window holds at least half of the burst."""
    return min(hit.end_s, span[1]) - max(hit.start_s, span[0]) >= BURST_S / 2 - 1e-6


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("similar")
    root, model = write_folder(tmp / "recordings"), write_model(tmp / "tones.onnx")
    index_job(IndexRequest(root, model, out=tmp / "idx"))
    return root, model, tmp / "idx"


def test_the_other_bursts_of_the_same_tone_come_first_one_per_place(indexed):
    _, _, out = indexed
    index = Index(out)
    example = ("r0.wav", *_burst("r0.wav", LOW_AT_S))
    hits = similar(index, example_vectors(index, [example]), top=5, exclude=[example])
    assert sorted(h.recording for h in hits) == sorted(NAMES[1:])        # one hit in each other recording
    assert all(_inside(h, _burst(h.recording, LOW_AT_S)) for h in hits)
    assert {h.label for h in hits} == {"tone_300hz"}
    assert [h.similarity for h in hits] == sorted((h.similarity for h in hits), reverse=True)

    high = ("r1.wav", *_burst("r1.wav", HIGH_AT_S))
    hits = similar(index, example_vectors(index, [high]), top=5, exclude=[high])
    assert sorted(h.recording for h in hits) == sorted(set(NAMES) - {"r1.wav"})
    assert all(_inside(h, _burst(h.recording, HIGH_AT_S)) and h.label == "tone_2000hz" for h in hits)


def test_chunked_search_equals_one_product_and_overlapping_windows_can_be_kept(indexed):
    _, _, out = indexed
    index = Index(out)
    example = ("sub/r3.wav", *_burst("sub/r3.wav", LOW_AT_S))
    query = example_vectors(index, [example])
    whole = similar(index, query, top=12, distinct=False)
    chunked = similar(index, query, top=12, distinct=False, chunk_rows=7)
    assert [h.row for h in whole] == [h.row for h in chunked]     # float32 products of other shapes: last bits
    np.testing.assert_allclose([h.similarity for h in whole], [h.similarity for h in chunked], atol=1e-6)
    vectors = np.asarray(index.vectors, dtype=np.float32)
    expected = np.argsort(-(vectors @ query[0]), kind="stable")[:12]
    assert sorted(h.row for h in whole) == sorted(expected.tolist())
    assert len({h.recording for h in whole}) < 12              # overlapping windows of one burst are kept


def test_several_examples_combine_by_mean_or_max(indexed):
    _, _, out = indexed
    index = Index(out)
    low, high = ("r0.wav", *_burst("r0.wav", LOW_AT_S)), ("r0.wav", *_burst("r0.wav", HIGH_AT_S))
    queries = example_vectors(index, [low, high])
    hits = similar(index, queries, top=10, combine="max", exclude=[low, high])
    kinds = {h.label for h in hits}
    assert kinds == {"tone_300hz", "tone_2000hz"}              # the nearest of either example
    vectors = np.asarray(index.vectors, dtype=np.float32)
    mean = similar(index, queries, top=3, combine="mean", distinct=False)
    want = np.sort((vectors @ queries.T).mean(axis=1))[::-1][:3]
    np.testing.assert_allclose([h.similarity for h in mean], want, rtol=1e-5)


def test_like_is_parsed_and_bad_forms_are_refused():
    assert parse_like("sub/r3.wav:2-3.5") == ("sub/r3.wav", 2.0, 3.5)
    assert parse_like("C:/x/rec.wav:0-1") == ("C:/x/rec.wav", 0.0, 1.0)
    for bad in ("rec.wav", "rec.wav:3", "rec.wav:3-2", ":1-2", "rec.wav:a-b"):
        with pytest.raises(ValueError, match="RECORDING:START-END|range"):
            parse_like(bad)


def test_index_and_similar_on_the_command_line(tmp_path):
    root, model = write_folder(tmp_path / "recordings"), write_model(tmp_path / "tones.onnx")
    env = {**os.environ, "PYTHONPATH": str(REPO), "EARMARK_CACHE_DIR": str(tmp_path / "cache")}

    def run(*args):
        return subprocess.run([sys.executable, str(REPO / "main.py"), *map(str, args)], env=env,
                              capture_output=True, text=True, timeout=300)

    done = run("index", root, "--model", model)
    assert done.returncode == 0, done.stderr
    out = Path(done.stdout.splitlines()[0])
    assert out.parent == tmp_path / "cache" / "indexes" and "6 indexed" in done.stdout
    again = run("index", root, "--model", model)
    assert "0 indexed, 6 unchanged" in again.stdout and "0 window(s) embedded now" in again.stdout

    start, end = _burst("sub/r4.wav", HIGH_AT_S)
    for combine, column, least in (("fit", "score", 0.5), ("mean", "similarity", 0.9)):   # fit: the default
        found = run("similar", out, "--like", f"{root / 'sub/r4.wav'}:{start}-{end}", "--top", "5",
                    *(("--combine", combine) if combine != "fit" else ()))
        assert found.returncode == 0, found.stderr
        header, *rows = [line.split("\t") for line in found.stdout.splitlines()]
        assert header == ["recording", "start_s", "end_s", column, "label"]
        assert sorted(r[0] for r in rows) == sorted(set(NAMES) - {"sub/r4.wav"})
        for recording, start_s, end_s, value, label in rows:
            burst = _burst(recording, HIGH_AT_S)
            assert min(float(end_s), burst[1]) - max(float(start_s), burst[0]) >= BURST_S / 2 - 0.01, rows
            assert label == "tone_2000hz" and float(value) > least

    missing = run("similar", out, "--like", "elsewhere.wav:0-1")
    assert missing.returncode == 2 and "not a recording of the index" in missing.stderr

    outside = tmp_path / "outside.wav"                       # a file the index never saw: embedded now
    outside.write_bytes((root / "sub/r4.wav").read_bytes())
    found_outside = run("similar", out, "--like", f"{outside}:{start}-{end}", "--top", "6")
    rows = [line.split("\t") for line in found_outside.stdout.splitlines()[1:]]
    assert found_outside.returncode == 0 and len(rows) == 6
    assert sorted(r[0] for r in rows) == sorted(NAMES)                     # its twin in the index is found too
    assert all(r[4] == "tone_2000hz" for r in rows)


def test_standardised_search_is_the_cosine_of_z_scored_vectors(indexed):
    _, _, out = indexed
    index = Index(out)
    low, high = ("r0.wav", *_burst("r0.wav", LOW_AT_S)), ("r2.wav", *_burst("r2.wav", HIGH_AT_S))
    queries = example_vectors(index, [low, high])
    vectors = np.asarray(index.vectors, dtype=np.float32)
    mean, std = vectors.mean(axis=0), vectors.std(axis=0) + 1e-6
    z = (vectors - mean) / std
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    zq = (queries - mean) / std
    zq /= np.linalg.norm(zq, axis=1, keepdims=True)
    for combine, want in (("mean", (z @ zq.T).mean(axis=1)), ("max", (z @ zq.T).max(axis=1))):
        hits = similar(index, queries, top=10, combine=combine, distinct=False, standardise=True, chunk_rows=50)
        np.testing.assert_allclose([h.similarity for h in hits], np.sort(want)[::-1][:10], rtol=1e-4, atol=1e-5)
    best = similar(index, queries[:1], top=5, exclude=[low], standardise=True)
    assert sorted(h.recording for h in best) == sorted(NAMES[1:])       # the known neighbours still come first


def test_a_scorer_fitted_to_three_examples_finds_the_other_bursts_of_their_tone(indexed):
    _, _, out = indexed
    index = Index(out)
    examples = [(name, *_burst(name, LOW_AT_S)) for name in NAMES[:3]]
    scorer = fit_examples(index, examples)
    query = scorer.query
    assert query.shape == (1, index.vectors.shape[1]) and np.isclose(np.linalg.norm(query), 1.0, atol=1e-5)
    hits = similar(index, query, top=3, exclude=examples)
    assert sorted(h.recording for h in hits) == sorted(NAMES[3:])
    assert all(_inside(h, _burst(h.recording, LOW_AT_S)) and h.label == "tone_300hz" for h in hits)
    vectors = np.asarray(index.vectors, dtype=np.float32)
    for hit in hits:                                   # the score shown is the scorer's own answer for the window
        want = 1 / (1 + np.exp(-(vectors[hit.row] @ scorer.weights + scorer.bias)))
        assert scorer.score(hit.similarity) == pytest.approx(want, abs=1e-3) and want > 0.5
    scores = vectors @ scorer.weights + scorer.bias
    assert (scores > 0).sum() < len(scores) / 4        # most windows are scored unlike the examples


def test_the_fitted_scorer_is_the_balanced_l2_logistic_regression():
    rng = np.random.default_rng(0)
    positives = rng.normal(0.5, 1.0, (12, 8))
    negatives = rng.normal(0.0, 1.0, (300, 8))
    c = 10.0
    w, b = fit_scorer(positives, negatives, c=c)
    # at the optimum the gradient of c * sum(weight * logloss) + |w|^2 / 2 is zero
    x, y = np.vstack([positives, negatives]), np.r_[np.ones(12), np.zeros(300)]
    weight = c * np.where(y == 1, len(y) / 24, len(y) / 600)
    p = 1 / (1 + np.exp(-(x @ w + b)))
    assert np.abs(x.T @ (weight * (p - y)) + w).max() < 1e-6
    assert abs(weight @ (p - y)) < 1e-6
    sklearn = pytest.importorskip("sklearn.linear_model")
    reference = sklearn.LogisticRegression(C=c, class_weight="balanced", tol=1e-10, max_iter=10_000).fit(x, y)
    np.testing.assert_allclose(w, reference.coef_[0], rtol=1e-3, atol=1e-4)


def test_fitting_samples_a_bounded_number_of_the_index_windows(tmp_path, monkeypatch):
    import tracemalloc

    from engine.index import fewshot
    from tests.engine.index.helpers import write_synthetic_index

    dim, rows = 32, 400_000
    index = Index(write_synthetic_index(tmp_path / "big", rows, dim=dim))
    seen = []
    real_fit = fewshot.fit_scorer
    monkeypatch.setattr(fewshot, "fit_scorer", lambda p, n, **kw: seen.append((len(p), len(n))) or real_fit(p, n, **kw))
    tracemalloc.start()
    query = fit_examples(index, [("rec1.wav", 10.0, 12.0)], max_negatives=2_048).query
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert seen == [(seen[0][0], 2_048)] and seen[0][0] >= 1
    assert query.shape == (1, dim)
    assert peak < rows * dim * 8 / 8          # an eighth of the index as float64: the whole index is never loaded
    again = fit_examples(index, [("rec1.wav", 10.0, 12.0)], max_negatives=2_048).query
    np.testing.assert_array_equal(query, again)     # the sample is seeded: the same examples, the same ranking


def test_similar_with_a_fitted_scorer_on_the_command_line(indexed):
    root, _, out = indexed
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    likes = [arg for name in NAMES[:3] for arg in ("--like", f"{name}:{_burst(name, HIGH_AT_S)[0]}-{_burst(name, HIGH_AT_S)[1]}")]
    found = subprocess.run([sys.executable, str(REPO / "main.py"), "similar", str(out), *likes, "--top", "3",
                            "--combine", "fit"], env=env, capture_output=True, text=True, timeout=300, cwd=root)
    assert found.returncode == 0, found.stderr
    rows = [line.split("\t") for line in found.stdout.splitlines()[1:]]
    assert sorted(r[0] for r in rows) == sorted(NAMES[3:]) and all(r[4] == "tone_2000hz" for r in rows)
    refused = subprocess.run([sys.executable, str(REPO / "main.py"), "similar", str(out), *likes, "--combine", "fit",
                              "--standardise"], env=env, capture_output=True, text=True, timeout=300, cwd=root)
    assert refused.returncode == 2 and "--standardise" in refused.stderr
