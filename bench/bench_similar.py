"""More like this on a 1-hour recording of real ESC-10 clips, and exact search time at scale.

    python -m bench --quick --only similar          # or: python -m bench.bench_similar [--quick]
    python -m bench.bench_similar --quick --beds=14,26 --no-timing    # both beds with the quick model

**The recording** (``build_recording``): one hour at 16 kHz made only of ESC-10 clips of folds 3
and 4 (``/work/shared/data/esc10``, CC BY): a continuous bed of the rain, sea-waves and
crackling-fire clips (shuffled, looped, 14 or 26 dB under the events' RMS) plus white noise, and the 16
fold-3/4 clips of each of the seven other classes (dog, crying baby, clock tick, sneezing,
helicopter, chainsaw, rooster; 112 events) placed at random, non-overlapping places with
±4 dB of level spread. Every event's place is known.

**The model** is trained with ``main.py train`` on folds 1 and 2 only (all ten classes, 160
clips; no clip of the recording trained it): ``vgg4``, one seed, no refit. Three indexes over the
same windows (5 s, hop 2.5 s: 1,439 windows): the shipped default ``model+bands`` (its
``embedding`` output, 192 pooled features, joined with each window's 448-number band profile),
``model`` (the embedding alone) and the fallback ``bands`` (log-mel band statistics).

**The query**: for each event class, five of its occurrences are the labelled examples (drawn with
seeds 0-4); "more like this" lists the top 20 distinct windows by each method — the mean of the
five examples' cosine similarities, their max, both after z-scoring (``--standardise``), and
``fit``: a logistic regression fitted to the examples' windows against the index's
(``engine.index.fewshot``) — and an occurrence counts as found when a listed window covers at
least half a window of it. Reported: the share of the class's 11 other occurrences found in the top
20, per class and on average, per seed. ``fit``, its one parameter per embedding kind and the
``model+bands`` vectors were chosen on the bed-26 hour with seed 0's examples only; seeds 1-4, the
bed-14 hour and the held-out hour check them.

**The held-out hour** (``heldout``): built the same way from ESC-50 **fold 4**
(``/work/shared/data/esc50-real``, CC BY-NC: for this benchmark, not for shipping), the bed of its
rain, sea-waves and crackling-fire clips 26 dB under, and the 8 clips of each of the **40 classes
that are not in ESC-10** (320 events; the model never saw any of these sounds): five examples,
three other occurrences per class, seeds 0-4, averaged over classes.

**Search time**: one query over synthetic unit float16 vectors at 100,000 and 1,000,000 windows,
median of 5 (``engine.index.search.similar``, chunked exact product), at the model's 192 dims and
at the default index's 640 (192 + the band profile's 448).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.workspace import work_root

ESC10 = Path(os.environ.get("EARMARK_ESC10", "/work/shared/data/esc10"))
ESC50 = Path(os.environ.get("EARMARK_ESC50_REAL", "/work/shared/data/esc50-real"))   # fold 4 of ESC-50, CC BY-NC
REPO = Path(__file__).resolve().parents[1]
RATE_HZ = 16_000
HOUR_S = 3600.0
BED = ("rain", "sea_waves", "crackling_fire")
EVENTS = ("dog", "crying_baby", "clock_tick", "sneezing", "helicopter", "chainsaw", "rooster")
RECORDING_FOLDS, TRAINING_FOLDS = (3, 4), (1, 2)
N_EXAMPLES, TOP = 5, 20
BED_UNDER_DB = (14, 26)       # the background bed's level under the events (RMS)


HELDOUT_FOLDS = (4,)         # the held-out recording: ESC-50 fold 4, the 40 classes not in ESC-10


def _clips(folds, data: Path = ESC10) -> list[dict]:
    with open(data / "meta" / "esc50.csv", newline="") as handle:
        return [r for r in csv.DictReader(handle) if int(r["fold"]) in folds]


def heldout_classes() -> tuple[str, ...]:
    """The ESC-50 classes of fold 4 that are not ESC-10 ones: no clip of them trained the model."""
    return tuple(sorted({r["category"] for r in _clips(HELDOUT_FOLDS, ESC50) if r["esc10"] != "True"}))


def _read(name: str, data: Path = ESC10) -> np.ndarray:
    import soxr

    samples, rate = sf.read(data / "audio" / name, dtype="float32", always_2d=True)
    return soxr.resample(samples.mean(axis=1), rate, RATE_HZ).astype(np.float32)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-9)


def build_recording(path: Path, bed_under_db: float, seed: int = 0, *, data: Path = ESC10,
                    folds=RECORDING_FOLDS, event_classes=EVENTS) -> list[dict]:
    """Write the hour (see the module docstring); return its events (category, clip, start_s, end_s).
    ``data``, ``folds`` and ``event_classes`` make the held-out hour (ESC-50 fold 4, other classes)."""
    rng = np.random.default_rng(seed)
    clips = _clips(folds, data)
    n = int(HOUR_S * RATE_HZ)
    out = (10 ** (-50 / 20) * rng.standard_normal(n)).astype(np.float32)
    bed_clips = [c for c in clips if c["category"] in BED]
    position = 0
    while position < n:
        for i in rng.permutation(len(bed_clips)):
            piece = _read(bed_clips[i]["filename"], data)
            piece *= 10 ** ((-20 - bed_under_db) / 20) / _rms(piece)
            take = min(len(piece), n - position)
            out[position:position + take] += piece[:take]
            position += take
            if position >= n:
                break
    events = [c for c in clips if c["category"] in event_classes]
    slot_s = HOUR_S / len(events)                     # one event per slot, at a random place in it
    placed = []
    for slot, i in enumerate(rng.permutation(len(events))):
        piece = _read(events[i]["filename"], data)
        piece *= 10 ** ((-20 + rng.uniform(-4, 4)) / 20) / _rms(piece)
        duration_s = len(piece) / RATE_HZ
        start_s = slot * slot_s + rng.uniform(0, max(slot_s - duration_s, 0))
        first = int(start_s * RATE_HZ)
        out[first:first + len(piece)] += piece[:n - first]
        placed.append({"category": events[i]["category"], "clip": events[i]["filename"],
                       "start_s": round(start_s, 3), "end_s": round(start_s + duration_s, 3)})
    peak = float(np.abs(out).max())
    sf.write(path, out / max(peak / 0.9, 1.0), RATE_HZ, subtype="PCM_16")
    return placed


def train_model(folder: Path, epochs: int) -> Path:
    """``main.py train`` on the training folds only (a CSV data set naming just those clips)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = _clips(TRAINING_FOLDS)
    table = folder / "folds12.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "group"])
        for r in rows:
            writer.writerow([str(ESC10 / "audio" / r["filename"]), r["category"], r["src_file"]])
    run = folder / "run"
    if not (run / "model.onnx").exists() and not (run / "checkpoints").exists():
        cmd = [sys.executable, str(REPO / "main.py"), "train", "--data", str(table), "--layout", "csv",
               "--model", "vgg4", "--epochs", str(epochs), "--seeds", "42", "--no-refit", "--out", str(run)]
        subprocess.run(cmd, check=False, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                       stdout=subprocess.DEVNULL)
    if not (run / "model.onnx").exists():
        _export_loosely(run)
    return run / "model.onnx"


def _export_loosely(run: Path, tolerance: float = 1e-3) -> None:
    """Export the run's last checkpoint when ``train``'s export refused it: on these real clips
    vgg4's ONNX Runtime probabilities differ from PyTorch's by 2.4e-4, over the recipe's 1e-4
    (measured 2026-12-07; the same with or without the embedding output). The file's metadata
    records the tolerance used."""
    from engine.datasets.manifest import read_manifest
    from trainer.run.build import build_classifier, export_model
    from trainer.run.export import export_onnx
    from trainer.run.salvage import best_checkpoint, example_batch, read_config, salvage_metadata

    best, state = best_checkpoint(run)
    config = read_config(best.config_path)
    manifest = read_manifest(config.data, config.layout)
    classifier = build_classifier(config, len(manifest.labels))
    classifier.load_state_dict(state["model"])
    export_onnx(export_model(config, classifier, None), run / "model.onnx",
                metadata=salvage_metadata(config, manifest, best), example=example_batch(manifest, config),
                tolerance=tolerance)


def found_share(hits, occurrences: list[dict], window_s: float) -> float:
    """Share of ``occurrences`` that some hit covers by at least half a window."""
    found = sum(any(min(h.end_s, o["end_s"]) - max(h.start_s, o["start_s"]) >= min(window_s, o["end_s"] - o["start_s"]) / 2
                    for h in hits) for o in occurrences)
    return found / max(len(occurrences), 1)


METHODS = ("mean", "max", "mean_z", "max_z", "fit")
EMBEDDINGS = ("model+bands", "model", "bands")   # the shipped default first (``main.py index``'s auto)
SEARCH_DIMS = (192, 640)      # vgg4's embedding (model); joined with the 448-number band profile (model+bands)
SEEDS = (0, 1, 2, 3, 4)       # seed 0's examples chose the method (bed 26); 1-4 and the held-out hour only check it


def query_classes(index_dir: Path, recording: str, events: list[dict], seed: int = 0, classes=EVENTS) -> dict:
    """For each event class: five examples (drawn with ``seed``), top 20 by each of :data:`METHODS`
    (mean / max of cosines, plain or standardised; ``fit``: the few-shot linear scorer); the share of
    the class's other occurrences found."""
    from engine.index.fewshot import fit_examples
    from engine.index.search import Index, example_vectors, similar

    index = Index(index_dir)
    rng = np.random.default_rng(seed)
    out = {}
    for category in classes:
        mine = [e for e in events if e["category"] == category]
        chosen = set(rng.choice(len(mine), N_EXAMPLES, replace=False).tolist())
        examples = [(recording, mine[i]["start_s"], mine[i]["end_s"]) for i in sorted(chosen)]
        others = [e for i, e in enumerate(mine) if i not in chosen]
        queries = example_vectors(index, examples)
        out[category] = {f"{combine}{'_z' if z else ''}": round(found_share(similar(
            index, queries, top=TOP, combine=combine, exclude=examples, standardise=z), others, index.window_s), 3)
            for combine in ("mean", "max") for z in (False, True)}
        out[category]["fit"] = round(found_share(similar(index, fit_examples(index, examples).query, top=TOP,
                                                         exclude=examples), others, index.window_s), 3)
    out["_average"] = {m: round(float(np.mean([out[c][m] for c in classes])), 3) for m in METHODS}
    return out


def query_seeds(index_dir: Path, events: list[dict], classes=EVENTS, seeds=SEEDS) -> dict:
    """:func:`query_classes` for each seed, and each method's average over seeds and classes."""
    out = {f"seed{seed}": query_classes(index_dir, "hour.wav", events, seed, classes) for seed in seeds}
    out["_average_over_seeds"] = {m: round(float(np.mean([out[f"seed{s}"]["_average"][m] for s in seeds])), 3)
                                  for m in METHODS}
    out["_per_class_over_seeds"] = {c: {m: round(float(np.mean([out[f"seed{s}"][c][m] for s in seeds])), 3)
                                        for m in METHODS} for c in classes}
    return out


def heldout(root: Path, model: Path, epochs: int, embedding: str = "model+bands") -> dict:
    """The held-out hour: ESC-50 fold 4's 40 classes that are not in ESC-10 (8 clips each: five
    examples, three other occurrences) on the same kind of bed (fold 4's rain, sea waves and fire,
    26 dB under), seeds 0-4; nothing was chosen on it."""
    from engine.index.build import IndexRequest, index_job

    recordings = root / "recording-heldout"
    recordings.mkdir(parents=True, exist_ok=True)
    events_file = root / "events-heldout.json"
    if not events_file.exists():
        events_file.write_text(json.dumps(build_recording(recordings / "hour.wav", BED_UNDER_DB[-1], data=ESC50,
                                                          folds=HELDOUT_FOLDS, event_classes=heldout_classes())))
    events = json.loads(events_file.read_text())
    done = index_job(IndexRequest(recordings, model, out=root / f"index-{embedding}-e{epochs}-heldout",
                                  embedding=embedding))
    return {"events": len(events), "classes": len(heldout_classes()), "windows": done.rows,
            **query_seeds(done.out, events, heldout_classes())}


def time_search(n_rows: int, dim: int, folder: Path, runs: int = 5) -> float:
    """Median seconds of one query over ``n_rows`` synthetic unit float16 vectors."""
    from engine.index.search import Index, similar
    from engine.index.store import Entry, IndexStore

    store = IndexStore.create_or_open(folder, {"folder": str(folder), "labels": ["a", "b"], "dim": dim,
                                               "window_s": 1.0, "hop_s": 1.0, "synthetic": n_rows})
    if not store.rows:
        rng = np.random.default_rng(0)
        for first in range(0, n_rows, 100_000):
            k = min(100_000, n_rows - first)
            v = rng.standard_normal((k, dim)).astype(np.float32)
            store.append(np.arange(first, first + k, dtype=np.float64), v / np.linalg.norm(v, axis=1, keepdims=True),
                         np.full((k, 2), 0.5, np.float32))
        store.commit(Entry(path="synthetic.wav", size=0, mtime_ns=0))
    store.close()
    index = Index(folder)
    query = np.random.default_rng(1).standard_normal((1, dim)).astype(np.float32)
    similar(index, query, top=TOP)                     # page the file in once
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        similar(index, query, top=TOP)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def main(quick: bool, beds: tuple[int, ...] | None = None, timing: bool = True) -> dict:
    from engine.index.build import IndexRequest, index_job

    root = work_root() / "similar"
    epochs = 12 if quick else 30
    model = train_model(root / f"model-e{epochs}", epochs)
    result = {"name": "similar", "recording_s": HOUR_S, "examples": N_EXAMPLES, "top": TOP,
              "model": {"architecture": "vgg4", "epochs": epochs, "trained_on_folds": list(TRAINING_FOLDS),
                        "recording_folds": list(RECORDING_FOLDS),
                        "sha256": hashlib.sha256(model.read_bytes()).hexdigest()[:12]}}
    for bed_under_db in beds or (BED_UNDER_DB if not quick else BED_UNDER_DB[-1:]):
        recordings = root / f"recording-bed{bed_under_db}"
        recordings.mkdir(parents=True, exist_ok=True)
        events_file = root / f"events-bed{bed_under_db}.json"
        if not events_file.exists():
            events_file.write_text(json.dumps(build_recording(recordings / "hour.wav", bed_under_db)))
        events = json.loads(events_file.read_text())
        result["events"] = len(events)
        for embedding in EMBEDDINGS:
            started = time.perf_counter()
            done = index_job(IndexRequest(recordings, model, out=root / f"index-{embedding}-e{epochs}-bed{bed_under_db}",
                                          embedding=embedding))
            result[f"index_{embedding}_s"] = round(time.perf_counter() - started, 1)
            result["windows"] = done.rows
            result[f"found_{embedding}_bed{bed_under_db}"] = (query_seeds(done.out, events) if embedding != "bands"
                                                             else query_classes(done.out, "hour.wav", events))
    for embedding in EMBEDDINGS[:2]:
        result[f"found_{embedding}_heldout"] = heldout(root, model, epochs, embedding)
    for dim in SEARCH_DIMS if timing else ():
        for n_rows in (100_000, 1_000_000):
            name = f"synthetic-{n_rows}" if dim == 192 else f"synthetic-{n_rows}-{dim}"
            result[f"query_s_{n_rows}" if dim == 192 else f"query_s_{n_rows}_{dim}"] = round(
                time_search(n_rows, dim, root / name), 4)
    result["query_dims"] = list(SEARCH_DIMS)
    return result


if __name__ == "__main__":
    # --beds 14,26: these beds whatever --quick says; --no-timing: skip the synthetic search timing
    given = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--beds=")), None)
    print(json.dumps(main("--quick" in sys.argv, tuple(int(b) for b in given.split(",")) if given else None,
                          timing="--no-timing" not in sys.argv), indent=2))
