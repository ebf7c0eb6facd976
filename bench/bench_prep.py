"""Benchmark 1 - data preparation: Earmark's feature cache vs. the PNG pipeline.

The same ESC-50-layout synthetic set (five-second clips at 44.1 kHz) is prepared
both ways, original + five variants per clip: Earmark's ``FeatureCache.build``
(decode and resample once, variants in worker processes, float16 log-mels in one
memory-mapped file) and the baseline of :mod:`bench.png_pipeline` (librosa at
22,050 Hz, one 224x224 PNG per variant, a serial loop). Wall time and bytes on disk.
"""

from __future__ import annotations

import time

from bench import png_pipeline
from bench.workspace import (
    baseline_inputs,
    build_cache,
    files_bytes,
    folder_bytes,
    prepared,
    row,
    single_threaded,
    sizes,
    work_root,
)
from trainer.data.cache import IN_PROCESS_MAX_CLIPS, default_workers

FULL_CLIPS = 2000
SUBSET_CLIPS = 8       # clips for the single-process comparisons (one chunk: Earmark runs them serially)


def main(quick: bool) -> dict:
    size = sizes(quick)
    prep = prepared(quick)
    n = prep.n_clips
    cache_bytes = folder_bytes(prep.cache.folder)
    png_bytes = files_bytes(item.path for item in prep.png_items)
    subset = min(SUBSET_CLIPS, max(2, n))
    with single_threaded():
        equal_s, figure_s, colormap_s = _secondary(prep.root, subset, size.clip_s)
        started = time.perf_counter()
        build_cache(prep.root, work_root() / "cache_in_process", workers=1, clip_s=size.clip_s)
        in_process_s = time.perf_counter() - started
    per_clip_e, per_clip_b = prep.earmark_s / n, prep.baseline_s / n
    rows = [
        row(f"prepare {n} clips x 6 (wall s)", prep.earmark_s, prep.baseline_s, "s", higher_is_better=False,
            target=5.0, baseline_name="PNG pipeline, matplotlib figure renderer",
            note="Earmark's defaults vs. the serial scripts"),
        row(f"prepare {n} clips x 6, Earmark in this process (workers=1: no worker start-up)", in_process_s,
            prep.baseline_s, "s", higher_is_better=False, target=5.0,
            baseline_name="PNG pipeline, matplotlib figure renderer",
            note="the same build without the process pool"),
        row("bytes on disk", cache_bytes, png_bytes, "bytes", higher_is_better=False,
            target=1.0, note="float16 log-mels + index vs. PNG files"),
        row(f"one process, {subset} clips, Earmark at the baseline's settings (22,050 Hz, 128 mels, n_fft 2048)",
            equal_s, figure_s, "s", higher_is_better=False, baseline_name="PNG pipeline, figure renderer",
            note="same work per clip, no parallelism: what skipping the pictures saves"),
        row(f"one process, {subset} clips, same, vs. the lean PNG renderer", equal_s, colormap_s, "s",
            higher_is_better=False, baseline_name="PNG pipeline, colormap + PIL resize"),
    ]
    extrapolated = {
        "clips": FULL_CLIPS,
        "earmark_s": per_clip_e * FULL_CLIPS,
        "baseline_s": per_clip_b * FULL_CLIPS,
        "measured": n >= FULL_CLIPS,
    }
    notes = [
        f"{n} clips ({size.prep_classes} classes x {size.prep_clips_per_class}), {size.clip_s:g} s at 44.1 kHz, written by "
        "engine.datasets.synth.write_esc50; every clip gives 6 items (original, noise, pitch_shift, time_stretch, reverb, gain).",
        f"Earmark: trainer.data.cache.FeatureCache.build with its default frontend (16 kHz, 64 mels, n_fft 1024, "
        f"hop 256) and its default workers: in this process below {IN_PROCESS_MAX_CLIPS} clips (a worker's start-up "
        f"costs more than it saves there), else up to {default_workers()} worker processes on this machine; the "
        "baseline is one process, as the scripts were. Math libraries run one thread in the preparing process on "
        "both sides (see bench.workspace.single_threaded).",
        "Earmark's time stretch and pitch shift are librosa's algorithm with a vectorised phase vocoder "
        "(trainer.augment.vocoder), and clip preparation keeps freed memory for reuse (trainer.data.prepare."
        "keep_freed_memory); the baseline calls librosa.effects as the scripts did.",
    ]
    if not extrapolated["measured"]:
        notes.append(f"Extrapolated to {FULL_CLIPS} clips from the per-clip rates measured here: Earmark "
                     f"{extrapolated['earmark_s'] / 60:.1f} min (its fixed start-up cost spread over every clip: "
                     f"pessimistic), baseline {extrapolated['baseline_s'] / 60:.1f} min. The summary also extrapolates "
                     "from the scaling benchmark's fit (fixed cost + marginal cost per clip). Extrapolations, not "
                     "measurements.")
    return {"name": "prep", "title": "1. Data preparation", "rows": rows, "notes": notes,
            "extra": {"n_clips": n, "items": n * 6, "earmark_s": prep.earmark_s, "baseline_s": prep.baseline_s,
                      "earmark_in_process_s": in_process_s,
                      "cache_bytes": cache_bytes, "png_bytes": png_bytes, "extrapolated": extrapolated,
                      "cache_bytes_per_item": cache_bytes / (n * 6), "png_bytes_per_item": png_bytes / (n * 6)}}


def _secondary(root, subset: int, clip_s: float) -> tuple[float, float, float]:
    """Single process, ``subset`` clips: Earmark at the baseline's settings, and both PNG renderers."""
    from engine.datasets.synth import write_esc50

    small = write_esc50(work_root() / f"prep_subset_{subset}_{clip_s:g}", n_classes=2,
                        clips_per_class=max(1, subset // 2), seconds=clip_s)
    started = time.perf_counter()
    build_cache(small, work_root() / f"cache_equal_{subset}", equal_to_baseline=True, workers=1, clip_s=clip_s)
    equal_s = time.perf_counter() - started
    paths, labels = baseline_inputs(small)
    timings = []
    for renderer in png_pipeline.RENDERERS:
        started = time.perf_counter()
        png_pipeline.prepare_dataset(paths, labels, work_root() / f"png_{renderer}_{subset}", renderer=renderer,
                                     clip_s=clip_s)
        timings.append(time.perf_counter() - started)
    return equal_s, timings[0], timings[1]
