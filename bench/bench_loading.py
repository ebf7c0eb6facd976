"""Benchmark 2 - loading one training epoch: Earmark's memory-mapped cache vs. decoding PNGs.

Both sides iterate a shuffled ``DataLoader`` (batch 32) over every prepared item
(original + five variants per clip) and yield what the model consumes: float32
log-mels ``[1, n_mels, frames]`` from the cache (the model resizes them), and
ImageNet-normalised ``[3, 224, 224]`` tensors decoded from the PNGs. Measured with
0 and 2 loader workers after one warm-up epoch (the files are in the page cache on
both sides, as they are from the second epoch of any training on).
"""

from __future__ import annotations

import time

from bench import png_pipeline
from bench.workspace import median, prepared, row, single_threaded, sizes

BATCH_SIZE = 32
WORKER_COUNTS = (0, 2)


def epoch_seconds(loader) -> tuple[float, int]:
    """Time to pull every batch of one epoch; returns (seconds, samples)."""
    started = time.perf_counter()
    count = 0
    for x, _, _ in loader:
        count += len(x)
    return time.perf_counter() - started, count


def earmark_loader(cache, *, batch_size: int = BATCH_SIZE, workers: int = 0, seed: int = 0,
                   pin_memory: bool = False):
    import torch
    from torch.utils.data import DataLoader

    return DataLoader(cache.dataset(cache.items), batch_size=batch_size, shuffle=True, num_workers=workers,
                      generator=torch.Generator().manual_seed(seed), pin_memory=pin_memory)


def measure(make_loader, epochs: int) -> dict:
    with single_threaded():      # as in DataLoader workers; two OpenMP threads on tiny ops stall on a busy machine
        epoch_seconds(make_loader(-1))              # warm-up: page cache, imports, worker start-up code
        times, count = [], 0
        for epoch in range(epochs):
            seconds, count = epoch_seconds(make_loader(epoch))
            times.append(seconds)
    return {"epoch_s": median(times), "samples": count, "samples_per_s": count / median(times), "runs": times}


def main(quick: bool) -> dict:
    prep = prepared(quick)
    epochs = 2 if quick or sizes(quick).prep_clips < 1000 else 3
    rows, extra = [], {}
    for workers in WORKER_COUNTS:
        earmark = measure(lambda e, w=workers: earmark_loader(prep.cache, workers=w, seed=e + 1), epochs)
        baseline = measure(lambda e, w=workers: png_pipeline.png_loader(prep.png_items, workers=w, seed=e + 1),
                           epochs)
        rows.append(row(f"one epoch, {earmark['samples']} items, {workers} loader workers (s)",
                        earmark["epoch_s"], baseline["epoch_s"], "s", higher_is_better=False, target=5.0,
                        baseline_name="PNG decode (PIL + to_tensor + normalize)"))
        extra[f"workers_{workers}"] = {"earmark": earmark, "baseline": baseline}
    ours = extra["workers_0"]["earmark"]
    fastest = min((extra[f"workers_{w}"]["baseline"] for w in WORKER_COUNTS), key=lambda m: m["epoch_s"])
    rows.insert(0, row(f"one epoch, {ours['samples']} items: Earmark's default (0 workers) vs. the baseline's "
                       "fastest setting (s)", ours["epoch_s"], fastest["epoch_s"], "s", higher_is_better=False,
                       target=5.0, baseline_name="PNG decode, fastest worker count"))
    notes = [f"Batch {BATCH_SIZE}, shuffled, CPU, median of {epochs} epochs after a warm-up epoch; one torch "
             "thread in the loading process (DataLoader workers use one each).",
             "The cache yields log-mels at their native size; resizing to the backbone's input happens "
             "inside the model (and is counted in the training benchmark)."]
    return {"name": "loading", "title": "2. Loading one training epoch", "rows": rows, "notes": notes,
            "extra": extra}
