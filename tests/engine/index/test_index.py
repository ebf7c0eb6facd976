"""engine.index: a folder indexed window by window, resumable after a kill, in bounded memory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine.index.build import IndexRequest, index_job
from engine.index.search import Index
from engine.index.store import JOURNAL_FILE, VECTORS_FILE, IndexStore, IndexStoreError
from engine.jobs import Cancelled, CancelToken
from tests.engine.index.helpers import (
    NAMES,
    SR,
    windows_per_recording,
    write_folder,
    write_model,
    write_recording,
)
from tests.helpers_longwav import write_long_wav
from tests.helpers_rss import measured_result, start_measured

REPO = Path(__file__).resolve().parents[3]
PER_FILE = windows_per_recording()
DIM = 5 + 448          # auto: the tone model's embedding joined with the band profile (test_embedding_kinds.py)


@pytest.fixture()
def folder(tmp_path):
    return write_folder(tmp_path / "recordings"), write_model(tmp_path / "tones.onnx")


def _rows_by_recording(out: Path) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    index = Index(out)
    got = {}
    for entry in index.store.live_entries():
        rows = slice(entry.first_row, entry.first_row + entry.n_rows)
        got[entry.path] = (np.array(index.vectors[rows]), np.array(index.probs[rows]), np.array(index.starts[rows]))
    return got


def _assert_same_index(a: Path, b: Path) -> None:
    rows_a, rows_b = _rows_by_recording(a), _rows_by_recording(b)
    assert sorted(rows_a) == sorted(rows_b) == sorted(NAMES)
    for name in NAMES:
        for x, y in zip(rows_a[name], rows_b[name], strict=True):
            np.testing.assert_array_equal(x, y)


def test_a_folder_is_indexed_then_a_second_run_skips_what_is_unchanged(folder, tmp_path):
    root, model = folder
    first = index_job(IndexRequest(root, model, out=tmp_path / "idx"))
    assert (first.recordings, first.indexed, first.skipped) == (6, 6, 0)
    assert first.windows_embedded == first.rows == 6 * PER_FILE
    store = IndexStore.open(tmp_path / "idx")
    # auto: the model's embedding (5) joined with the band profile (448), test_embedding_kinds.py
    assert store.meta["embedding"] == "model+bands" and store.meta["dim"] == DIM and store.meta["hop_s"] == 0.25
    vectors, probs, starts = store.arrays()
    assert vectors.dtype == np.float16 and vectors.shape == (6 * PER_FILE, DIM)
    np.testing.assert_allclose(np.linalg.norm(vectors.astype(np.float32), axis=1), 1.0, atol=2e-3)
    np.testing.assert_allclose(probs.astype(np.float32).sum(axis=1), 1.0, atol=5e-3)
    assert starts[:3].tolist() == [0.0, 0.25, 0.5]

    again = index_job(IndexRequest(root, model, out=tmp_path / "idx"))
    assert (again.indexed, again.skipped, again.windows_embedded, again.rows) == (0, 6, 0, 6 * PER_FILE)

    write_recording(root / "r1.wav", 1, seconds=8.0)             # changed: size and mtime differ
    write_recording(root / "new" / "r6.wav", 6)                   # new
    (root / "r2.wav").unlink()                                     # gone
    third = index_job(IndexRequest(root, model, out=tmp_path / "idx"))
    assert (third.indexed, third.skipped, third.removed) == (2, 4, 1)
    assert third.windows_embedded == windows_per_recording(8.0) + PER_FILE
    index = Index(tmp_path / "idx")
    assert sorted(index.recordings) == sorted(["r0.wav", "r1.wav", "new/r6.wav", *NAMES[3:]])
    assert len(index) == third.rows == 5 * PER_FILE + windows_per_recording(8.0)


def test_an_index_made_with_other_settings_is_refused(folder, tmp_path):
    root, model = folder
    index_job(IndexRequest(root, model, out=tmp_path / "idx"))
    with pytest.raises(IndexStoreError, match="hop_s"):
        index_job(IndexRequest(root, model, out=tmp_path / "idx", hop_s=0.5))


def test_a_second_writer_is_refused_while_the_first_holds_the_index(folder, tmp_path):
    root, model = folder
    index_job(IndexRequest(root, model, out=tmp_path / "idx"))
    holder = IndexStore.create_or_open(tmp_path / "idx", IndexStore.open(tmp_path / "idx").meta)
    try:
        with pytest.raises(IndexStoreError, match="another run is writing"):
            index_job(IndexRequest(root, model, out=tmp_path / "idx"))
    finally:
        holder.close()
    assert index_job(IndexRequest(root, model, out=tmp_path / "idx")).skipped == 6


def test_without_out_the_index_goes_to_the_user_cache(folder, tmp_path, monkeypatch):
    root, model = folder
    monkeypatch.setenv("EARMARK_CACHE_DIR", str(tmp_path / "cache"))
    result = index_job(IndexRequest(root, model))
    assert result.out.parent == tmp_path / "cache" / "indexes" and result.out.name.startswith("recordings-")
    assert index_job(IndexRequest(root, model)).skipped == 6       # the same folder and model: resumed


def test_the_fallback_embedding_is_band_statistics(folder, tmp_path):
    root, model = folder
    result = index_job(IndexRequest(root, model, out=tmp_path / "idx", embedding="bands"))
    store = IndexStore.open(result.out)
    assert store.meta["embedding"] == "bands" and store.meta["dim"] == 128
    assert store.arrays()[0].shape == (6 * PER_FILE, 128)


def test_cancel_drops_the_recording_in_flight_and_a_rerun_finishes(folder, tmp_path):
    root, model = folder
    cancel = CancelToken()

    def on_progress(progress):
        if progress.step == 2 and progress.message == "r2.wav":
            cancel.cancel()

    with pytest.raises(Cancelled):
        index_job(IndexRequest(root, model, out=tmp_path / "idx"), on_progress=on_progress, cancel=cancel)
    store = IndexStore.open(tmp_path / "idx")
    assert [e.path for e in store.entries] == ["r0.wav", "r1.wav"]
    assert (tmp_path / "idx" / VECTORS_FILE).stat().st_size == 2 * PER_FILE * DIM * 2   # nothing past the journal
    rest = index_job(IndexRequest(root, model, out=tmp_path / "idx"))
    assert (rest.skipped, rest.indexed, rest.windows_embedded) == (2, 4, 4 * PER_FILE)


CHILD = r"""
import sys, threading
from pathlib import Path
from engine.index import store as store_module
from engine.index.build import IndexRequest, index_job

root, model, out, marker = map(Path, sys.argv[1:5])
real_append, calls = store_module.IndexStore.append, []

def append(self, *args):
    real_append(self, *args)
    calls.append(1)
    if len(calls) == 5:        # the third recording's first batch is on disk, its journal line is not
        marker.write_text(str(self.rows + self._pending))
        threading.Event().wait()   # hold here until killed

store_module.IndexStore.append = append
index_job(IndexRequest(root, model, out=out))
"""


def test_a_killed_run_resumes_without_recomputing_and_equals_an_uninterrupted_run(folder, tmp_path):
    root, model = folder
    out, marker = tmp_path / "killed", tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(root), str(model), str(out), str(marker)], env=env)
    deadline = time.monotonic() + 120
    while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)                                    # polling for the marker, not waiting a fixed time
    assert marker.exists(), f"the child ended ({child.poll()}) or stalled before its third recording"
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL

    journal = [json.loads(line) for line in (out / JOURNAL_FILE).read_text().splitlines()]
    assert [e["path"] for e in journal] == ["r0.wav", "r1.wav"]            # two recordings finished
    written_rows = int(marker.read_text())
    assert written_rows == 2 * PER_FILE + 32                              # and a batch of the third in flight
    assert (out / VECTORS_FILE).stat().st_size == written_rows * DIM * 2

    resumed = index_job(IndexRequest(root, model, out=out))
    assert (resumed.skipped, resumed.indexed) == (2, 4)
    assert resumed.windows_embedded == 4 * PER_FILE                       # nothing done is recomputed
    journal_after = [json.loads(line) for line in (out / JOURNAL_FILE).read_text().splitlines()]
    assert journal_after[:2] == journal and len(journal_after) == 6         # the first two lines untouched
    assert (out / VECTORS_FILE).stat().st_size == 6 * PER_FILE * DIM * 2    # the cut-off batch was dropped

    whole = index_job(IndexRequest(root, model, out=tmp_path / "whole"))
    assert whole.windows_embedded == 6 * PER_FILE
    _assert_same_index(out, tmp_path / "whole")


def test_a_torn_journal_line_is_dropped_and_its_recording_redone(folder, tmp_path):
    root, model = folder
    index_job(IndexRequest(root, model, out=tmp_path / "idx"))
    journal = tmp_path / "idx" / JOURNAL_FILE
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:-1]) + lines[-1][:25])          # killed while writing the last line
    again = index_job(IndexRequest(root, model, out=tmp_path / "idx"))
    assert (again.skipped, again.indexed, again.windows_embedded) == (5, 1, PER_FILE)
    assert len(journal.read_text().splitlines()) == 6 and all(
        json.loads(line) for line in journal.read_text().splitlines())


def test_a_long_recording_is_indexed_in_bounded_memory(tmp_path):
    """Two hours at 8 kHz: 230 MB as float32 if it were read whole; the index job reads blocks."""
    long_dir, short_dir = tmp_path / "long", tmp_path / "short"
    long_dir.mkdir(), short_dir.mkdir()
    write_long_wav(long_dir / "two_hours.wav", 2 * 3600.0, sample_rate_hz=SR, channels=1,
                   tones={60.0: 300.0, 5000.0: 2000.0})
    write_long_wav(short_dir / "one_minute.wav", 60.0, sample_rate_hz=SR, channels=1, tones={10.0: 300.0})
    model = write_model(tmp_path / "tones.onnx")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    peaks = {}
    for name, folder in (("long", long_dir), ("short", short_dir)):
        cmd = [sys.executable, str(REPO / "main.py"), "index", str(folder), "--model", str(model),
               "--out", str(tmp_path / f"idx_{name}"), "--hop", "0.5"]
        start_measured(cmd, tmp_path / f"{name}.json", env=env, stdout=subprocess.DEVNULL).wait(timeout=600)
        code, peaks[name] = measured_result(tmp_path / f"{name}.json")
        assert code == 0
    assert len(Index(tmp_path / "idx_long")) == windows_per_recording(2 * 3600.0, 0.5, 0.5)   # every window
    print(f"peak RSS: two hours {peaks['long']:.0f} MB, one minute {peaks['short']:.0f} MB")
    assert peaks["long"] < peaks["short"] + 60, peaks                    # not the 230 MB of the file
