"""Benchmark 1 - data preparation: Earmark's feature cache vs. the PNG pipeline.

The same ESC-50-layout synthetic set (five-second clips at 44.1 kHz) is prepared
both ways, original + five variants per clip: Earmark's ``FeatureCache.build``
(decode and resample once, variants in worker processes, float16 log-mels in one
memory-mapped file) and the baseline of :mod:`bench.png_pipeline` (librosa at
22,050 Hz, one 224x224 PNG per variant, a serial loop). Wall time and bytes on disk.
"""

from __future__ import annotations

import os
import time

from bench import png_pipeline
from bench.workspace import (
    baseline_inputs,
    build_cache,
    files_bytes,
    folder_bytes,
    prepared,
    row,
    sizes,
    work_root,
)

FULL_CLIPS = 2000
SUBSET_CLIPS = 20      # clips for the secondary measurements (equal settings, lean renderer)


def main(quick: bool) -> dict:
    size = sizes(quick)
    prep = prepared(quick)
    n = prep.n_clips
    cache_bytes = folder_bytes(prep.cache.folder)
    png_bytes = files_bytes(item.path for item in prep.png_items)
    subset = min(SUBSET_CLIPS, n)
    equal_s, colormap_s = _secondary(prep.root, subset, size.clip_s)
    per_clip_e, per_clip_b = prep.earmark_s / n, prep.baseline_s / n
    rows = [
        row(f"prepare {n} clips x 6 (wall s)", prep.earmark_s, prep.baseline_s, "s", higher_is_better=False,
            target=5.0, baseline_name="PNG pipeline (matplotlib figure renderer)"),
        row("bytes on disk", cache_bytes, png_bytes, "bytes", higher_is_better=False,
            target=1.0, note="float16 log-mels + index vs. PNG files"),
        row(f"prepare {n} clips x 6, Earmark at the baseline's settings (22,050 Hz, 128 mels)",
            equal_s, prep.baseline_s, "s", higher_is_better=False,
            note="same sample rate and mel resolution as the PNGs"),
        row(f"per clip vs. the lean PNG renderer (colormap + PIL resize; {subset} clips)",
            per_clip_e, colormap_s / subset, "s/clip", higher_is_better=False,
            baseline_name="PNG pipeline (colormap renderer)"),
    ]
    extrapolated = {
        "clips": FULL_CLIPS,
        "earmark_s": per_clip_e * FULL_CLIPS,
        "baseline_s": per_clip_b * FULL_CLIPS,
        "measured": n >= FULL_CLIPS,
    }
    notes = [
        f"{n} clips ({size.prep_classes} classes x {size.prep_clips_per_class}), {size.clip_s:g} s at 44.1 kHz, written by "
        "engine.synth.write_esc50; every clip gives 6 items (original, noise, pitch_shift, time_stretch, reverb, gain).",
        f"Earmark: trainer.cache.FeatureCache.build with its default frontend (16 kHz, 64 mels, n_fft 1024, "
        f"hop 256), {os.cpu_count()} worker processes by default; the baseline is one process, as the scripts were.",
    ]
    if not extrapolated["measured"]:
        notes.append(f"Extrapolated to {FULL_CLIPS} clips (linear, from the per-clip rate measured here - see the "
                     f"scaling benchmark for the linearity): Earmark {extrapolated['earmark_s'] / 60:.1f} min, "
                     f"baseline {extrapolated['baseline_s'] / 60:.1f} min. This is an extrapolation, not a measurement.")
    return {"name": "prep", "title": "1. Data preparation", "rows": rows, "notes": notes,
            "extra": {"n_clips": n, "items": n * 6, "earmark_s": prep.earmark_s, "baseline_s": prep.baseline_s,
                      "cache_bytes": cache_bytes, "png_bytes": png_bytes, "extrapolated": extrapolated,
                      "cache_bytes_per_item": cache_bytes / (n * 6), "png_bytes_per_item": png_bytes / (n * 6)}}


def _secondary(root, subset: int, clip_s: float) -> tuple[float, float]:
    """Earmark at the baseline's settings on the whole set; the lean PNG renderer on ``subset`` clips."""
    started = time.perf_counter()
    build_cache(root, work_root() / f"cache_equal_{root.name}", equal_to_baseline=True, clip_s=clip_s)
    equal_s = time.perf_counter() - started
    paths, labels = baseline_inputs(root)
    started = time.perf_counter()
    png_pipeline.prepare_dataset(paths[:subset], labels[:subset], work_root() / f"png_colormap_{root.name}",
                                 renderer="colormap", clip_s=clip_s)
    return equal_s, time.perf_counter() - started
