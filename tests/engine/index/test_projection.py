"""The index map's PCA: numpy's SVD's answer, the same in any chunking, dead rows left out, cancellable."""

from __future__ import annotations

import numpy as np
import pytest

from engine.index.projection import ProjectionRequest, principal_axes, projection_job
from engine.index.search import Index
from engine.jobs import Cancelled, CancelToken
from tests.engine.index.helpers import write_synthetic_index


def _svd_scores(x: np.ndarray) -> np.ndarray:
    centred = x - x.mean(axis=0)
    u, s, _vt = np.linalg.svd(centred, full_matrices=False)
    return u[:, :2] * s[:2]


def test_the_axes_are_the_svds_up_to_sign():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((500, 12)) @ np.diag(np.linspace(3, 0.1, 12)) + 5
    mean, axes, variances = principal_axes(x, chunk_rows=64)
    ours = (x - mean) @ axes
    theirs = _svd_scores(x)
    for k in range(2):
        sign = np.sign(ours[:, k] @ theirs[:, k])
        np.testing.assert_allclose(ours[:, k], sign * theirs[:, k], atol=1e-8)
    np.testing.assert_allclose(variances, np.sort(np.linalg.svd(x - x.mean(0), compute_uv=False) ** 2 / 499)[::-1],
                               rtol=1e-9, atol=1e-12)


def test_chunking_changes_nothing(tmp_path):
    root = write_synthetic_index(tmp_path / "idx", 700, dim=10, dead_rows=30)
    whole = projection_job(ProjectionRequest(root, chunk_rows=100_000))
    for chunk in (1, 7, 64, 701):
        part = projection_job(ProjectionRequest(root, chunk_rows=chunk))
        np.testing.assert_allclose(part.xy, whole.xy, atol=1e-5)
        np.testing.assert_array_equal(part.answer, whole.answer)


def test_live_rows_only_with_their_colour_keys(tmp_path):
    root = write_synthetic_index(tmp_path / "idx", 400, dim=8, recordings=3, dead_rows=50)
    index = Index(root)
    seen = []
    result = projection_job(ProjectionRequest(root, chunk_rows=128), on_progress=seen.append)
    assert len(result) == 400 == len(index)
    assert result.rows.min() == 50                                 # the superseded rows are not drawn
    np.testing.assert_array_equal(result.answer, np.argmax(np.asarray(index.probs[result.rows]), axis=1))
    np.testing.assert_array_equal(result.recording, index.recording_of_row[result.rows])
    assert result.recordings == ["rec0.wav", "rec1.wav", "rec2.wav"] and result.labels == ["a", "b", "c"]
    rec, start, end = result.window_of(5)
    assert (rec, start, end) == ("rec0.wav", 2.5, 3.5)
    assert result.explained[0] >= result.explained[1] > 0
    assert seen[-1].fraction == pytest.approx(1.0) and {p.stage for p in seen} == {"axes", "project"}


def test_cancel_stops_it(tmp_path):
    root = write_synthetic_index(tmp_path / "idx", 300, dim=4)
    token = CancelToken()

    def progress(p):
        if p.stage == "axes" and p.step >= 100:
            token.cancel()

    with pytest.raises(Cancelled):
        projection_job(ProjectionRequest(root, chunk_rows=50), on_progress=progress, cancel=token)


def test_an_empty_index_draws_nothing(tmp_path):
    root = write_synthetic_index(tmp_path / "idx", 0, dim=4, recordings=1)
    assert len(projection_job(ProjectionRequest(root))) == 0
