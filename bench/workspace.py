"""What the benchmarks share: sizes, the synthetic data set, the two prepared data sets, meters.

Each ``bench_*.main(quick)`` can run alone, but in one ``python -m bench`` run the
synthetic set and the prepared data (Earmark's cache and the baseline PNGs) are
made once, by :func:`prepared`, and reused by the later benchmarks.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

VARIANTS = ("noise", "pitch_shift", "time_stretch", "reverb", "gain")   # Earmark's, same as the baseline's


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark runs; ``quick`` is what fits 15 minutes on two shared cores."""

    prep_classes: int
    prep_clips_per_class: int
    scaling_clips: tuple[int, ...]
    train_steps: int
    inference_runs: int
    live_blocks: int
    clip_s: float = 5.0
    train_batch: int = 16
    loader_workers: int = 2      # DataLoader workers where a pipeline uses them (the baseline; GPU runs)
    train_models: tuple[str, ...] = ("cnn", "resnet18")     # Earmark models; the last also trains the baseline
    backbones: tuple[str, ...] = ("cnn", "alexnet", "resnet18", "resnet50", "efficientnet_b0",
                                  "mobilenetv3_small", "mobilenetv3_large")

    @property
    def prep_clips(self) -> int:
        return self.prep_classes * self.prep_clips_per_class


QUICK = Sizes(prep_classes=10, prep_clips_per_class=8, scaling_clips=(20, 40, 80), train_steps=4,
              inference_runs=20, live_blocks=200, train_models=("cnn", "mobilenetv3_small"),
              backbones=("cnn", "resnet18", "efficientnet_b0", "mobilenetv3_small"))
FULL = Sizes(prep_classes=50, prep_clips_per_class=40, scaling_clips=(100, 200, 400, 800), train_steps=20,
             inference_runs=100, live_blocks=600)
TINY = Sizes(prep_classes=2, prep_clips_per_class=1, scaling_clips=(2, 4, 6), train_steps=1,
             inference_runs=3, live_blocks=20, clip_s=0.5, train_batch=4, loader_workers=0, train_models=("cnn",),
             backbones=("cnn",))


def sizes(quick: bool) -> Sizes:
    if os.environ.get("EARMARK_BENCH_TINY"):   # the smoke tests
        return TINY
    return QUICK if quick else FULL


@lru_cache(maxsize=1)
def work_root() -> Path:
    """A scratch folder for this process (``$EARMARK_BENCH_WORK`` or a temp dir removed at exit)."""
    given = os.environ.get("EARMARK_BENCH_WORK")
    if given:
        root = Path(given)
        root.mkdir(parents=True, exist_ok=True)
        return root
    root = Path(tempfile.mkdtemp(prefix="earmark-bench-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


@lru_cache(maxsize=8)
def synthetic_esc50(n_classes: int, clips_per_class: int, seconds: float = 5.0,
                    sample_rate_hz: int = 44100) -> Path:
    """An ESC-50-layout synthetic set (5 s clips at 44.1 kHz by default), written once."""
    from engine.datasets.synth import write_esc50

    out = work_root() / f"esc50_{n_classes}x{clips_per_class}_{seconds:g}s_{sample_rate_hz}"
    if not (out / "meta" / "esc50.csv").is_file():
        write_esc50(out, n_classes=n_classes, clips_per_class=clips_per_class, seconds=seconds,
                    sample_rate_hz=sample_rate_hz)
    return out


def earmark_frontend(equal_to_baseline: bool = False, clip_s: float = 5.0):
    """Earmark's default training frontend (16 kHz, 64 mels, n_fft 1024) - or the baseline's settings."""
    from trainer.data.cache import FrontendConfig

    if equal_to_baseline:
        return FrontendConfig(sample_rate_hz=22050, clip_s=clip_s, n_mels=128, n_fft=2048, hop_length=512)
    return FrontendConfig(sample_rate_hz=16000, clip_s=clip_s, n_mels=64, n_fft=1024)


def build_cache(root: Path, out_dir: Path, *, equal_to_baseline: bool = False, workers: int | None = None,
                clip_s: float = 5.0):
    """Earmark's preparation of a data set: ``FeatureCache.build`` with the five variants."""
    from engine.datasets.manifest import read_manifest
    from trainer.data.cache import FeatureCache

    manifest = read_manifest(root)
    return FeatureCache.build(manifest, frontend_config=earmark_frontend(equal_to_baseline, clip_s),
                              variants=VARIANTS, out_dir=out_dir, workers=workers)


def baseline_inputs(root: Path) -> tuple[list[Path], list[int]]:
    from engine.datasets.manifest import read_manifest

    manifest = read_manifest(root)
    index = {label: i for i, label in enumerate(manifest.labels)}
    return [c.path for c in manifest.clips], [index[c.label] for c in manifest.clips]


@dataclass
class Prepared:
    root: Path
    n_clips: int
    cache: Any                     # trainer.data.cache.FeatureCache
    png_items: list                # bench.png_pipeline.PngItem
    earmark_s: float
    baseline_s: float


_PREPARED: dict[tuple[int, int], Prepared] = {}


def prepared(quick: bool, *, timed: Callable[[Prepared], None] | None = None) -> Prepared:
    """The prep benchmark's data set prepared both ways (made once per process)."""
    from bench import png_pipeline

    size = sizes(quick)
    key = (size.prep_classes, size.prep_clips_per_class)
    if key not in _PREPARED:
        root = synthetic_esc50(*key, seconds=size.clip_s)
        tag = f"{key[0]}x{key[1]}"
        with single_threaded():
            _warm_up(root, size.clip_s)
            started = time.perf_counter()
            cache = build_cache(root, work_root() / f"cache_{tag}", clip_s=size.clip_s)
            earmark_s = time.perf_counter() - started
            paths, labels = baseline_inputs(root)
            started = time.perf_counter()
            items = png_pipeline.prepare_dataset(paths, labels, work_root() / f"png_{tag}", clip_s=size.clip_s)
            baseline_s = time.perf_counter() - started
        _PREPARED[key] = Prepared(root, len(paths), cache, items, earmark_s, baseline_s)
    return _PREPARED[key]


@contextlib.contextmanager
def single_threaded():
    """One BLAS/OpenMP/torch thread in this process, for both pipelines' data preparation and loading.

    On two cores shared with other work, two-thread BLAS and OpenMP stall on small operations
    (a 5 s mel spectrogram takes 8x longer); one thread keeps the comparison about the pipelines.
    Earmark's parallelism comes from its worker processes, which this does not limit.
    """
    import torch
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(previous)


def _warm_up(root: Path, clip_s: float) -> None:
    """Pay this process's one-time costs (imports, librosa's JIT) for both pipelines before timing."""
    from bench import png_pipeline

    paths, labels = baseline_inputs(root)
    scratch = work_root() / "warm_up"
    png_pipeline.prepare_dataset(paths[:1], labels[:1], scratch / "png", clip_s=clip_s)
    from engine.datasets.synth import write_esc50

    one = write_esc50(scratch / "one", n_classes=2, clips_per_class=1, seconds=clip_s)
    build_cache(one, scratch / "cache", workers=1, clip_s=clip_s)
    shutil.rmtree(scratch, ignore_errors=True)


# -- meters -----------------------------------------------------------------------------------

def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def files_bytes(paths) -> int:
    return sum(Path(p).stat().st_size for p in paths)


def timed_runs(fn: Callable[[], Any], runs: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def median(values) -> float:
    return float(statistics.median(values))


def percentile(values, q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))


def rss_anon_bytes() -> int:
    """This process's anonymous resident memory (memory-mapped file pages are not counted)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakMemory:
    """Samples :func:`rss_anon_bytes` every 10 ms in a thread; ``peak_bytes`` above the start."""

    def __init__(self, interval_s: float = 0.01):
        self.interval_s = interval_s
        self.start_bytes = 0
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        self.start_bytes = self.peak_bytes = rss_anon_bytes()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak_bytes = max(self.peak_bytes, rss_anon_bytes())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        self.peak_bytes = max(self.peak_bytes, rss_anon_bytes())

    @property
    def growth_bytes(self) -> int:
        return max(0, self.peak_bytes - self.start_bytes)


def row(figure: str, earmark: float | None, baseline: float | None, unit: str, *, higher_is_better: bool,
        target: float | None = None, note: str = "", baseline_name: str = "") -> dict[str, Any]:
    """One reported figure with its baseline and ratio (>1 always means Earmark is better)."""
    ratio = None
    if earmark is not None and baseline is not None and earmark > 0 and baseline > 0:
        ratio = earmark / baseline if higher_is_better else baseline / earmark
    meets = None if target is None or ratio is None else ratio >= target
    return {"figure": figure, "earmark": earmark, "baseline": baseline, "unit": unit, "ratio": ratio,
            "target": target, "meets": meets, "note": note, "baseline_name": baseline_name}
