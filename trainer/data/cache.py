"""Feature cache: decode and resample each clip once, augment, log-mel, memory-map.

A cache is a folder ``<out_dir>/<config hash>/`` holding ``features.f16`` (raw float16
log-mels ``[n_items, n_mels, frames]``, memory-mapped with the shape in the index) and
``index.json`` (one entry per item: clip index, variant, window, group, label index, path).
An item is one window of a clip: a clip no longer than the window is one padded item, a
longer one is cut every half window (``engine.audio.io.window_starts``) so none of it is
dropped; the number of items is known only once the clips are decoded, so rows are
appended as they are made.
The hash covers the frontend settings, the variants, the seed and every clip's path,
size, mtime, label and group, so a second build with the same configuration opens
the existing cache without decoding anything.

Decoding and the expensive augmentations run in worker processes (``workers``);
the log-mel frontend (the same :class:`trainer.models.frontend.LogMel` that is exported)
runs in batches in this process. Unreadable clips are skipped and reported.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from engine.atomic import atomic_write_json
from engine.errors import EarmarkError
from engine.jobs import Progress, ignore_progress
from trainer.data.prepare import keep_freed_memory, prepare_chunk

CACHE_VERSION = 2
ORIGINAL = "original"
CHUNK_CLIPS = 8

ProgressFn = Callable[[Progress], None]   # engine.jobs' contract: stage "cache", step/total clips


class CacheError(EarmarkError):
    """The feature cache cannot be built or read (no usable clips, damaged cache folder)."""


@dataclass(frozen=True)
class FrontendConfig:
    """What the log-mel frontend and the clip length are: part of the cache key."""

    sample_rate_hz: int
    clip_s: float
    n_mels: int = 64
    n_fft: int = 1024
    hop_length: int | None = None
    f_min: float = 0.0
    f_max: float | None = None
    top_db: float | None = 80.0

    @property
    def n_samples(self) -> int:
        return int(round(self.sample_rate_hz * self.clip_s))

    def logmel(self):
        from trainer.models.frontend import LogMel

        return LogMel(self.sample_rate_hz, n_fft=self.n_fft, hop_length=self.hop_length, n_mels=self.n_mels,
                      f_min=self.f_min, f_max=self.f_max, top_db=self.top_db)


@dataclass(frozen=True)
class CacheItem:
    item: int            # row in features.npy
    clip_index: int      # index into manifest.clips
    variant: str         # "original" or an augmentation name
    group: str
    label_index: int
    path: str            # the source clip (variants keep their source's path)
    window: int = 0      # which window of the clip
    start: int = 0       # the window's first sample in the decoded clip
    clip_samples: int = 0  # the decoded clip's length (what the windows cover)


@dataclass
class FeatureCache:
    folder: Path
    items: list[CacheItem]
    config: dict[str, Any]
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (path, reason)
    reused: bool = False

    @property
    def features_path(self) -> Path:
        return self.folder / "features.f16"

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in self.config["shape"])

    def features(self) -> np.ndarray:
        """The memory-mapped float16 array; rows are read from disk on access."""
        return np.memmap(self.features_path, dtype=np.float16, mode="r", shape=self.shape)

    def items_for(self, clip_indices: Sequence[int], variants: Sequence[str] | None = None) -> list[CacheItem]:
        wanted = set(int(i) for i in clip_indices)
        return [it for it in self.items
                if it.clip_index in wanted and (variants is None or it.variant in variants)]

    def dataset(self, items: Sequence[CacheItem], band_stats: np.ndarray | None = None) -> CachedFeatures:
        """The items as a Dataset; ``band_stats`` ``[len(items), 2, n_mels]`` z-score each one's bands."""
        return CachedFeatures(self.features_path, items, self.shape, band_stats)

    @classmethod
    def open(cls, folder: str | os.PathLike) -> FeatureCache:
        folder = Path(folder)
        try:
            index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
            items = [CacheItem(**entry) for entry in index["items"]]
            shape = tuple(int(v) for v in index["config"]["shape"])
            np.memmap(folder / "features.f16", dtype=np.float16, mode="r", shape=shape)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CacheError(f"{folder}: the feature cache is damaged ({exc}); delete the folder to rebuild") from exc
        return cls(folder, items, index["config"], [tuple(s) for s in index.get("skipped", [])], reused=True)

    @classmethod
    def build(cls, manifest, *, frontend_config: FrontendConfig, variants: Sequence[Any] = (),
              out_dir: str | os.PathLike, workers: int | None = None, seed: int = 0,
              on_progress: ProgressFn | None = None, cancel=None, device: str = "cpu") -> FeatureCache:
        """Open the cache for this configuration, building it first when it does not exist.

        ``variants`` are augmentation names (default parameters, always applied) or
        ``(name, kwargs)`` pairs; each clip gets its original plus one item per variant.
        """
        specs = _variant_specs(variants)
        key = cache_key(manifest, frontend_config, specs, seed)
        folder = Path(out_dir) / key[:20]
        if (folder / "index.json").is_file():
            return cls.open(folder)
        builder = _Builder(manifest, frontend_config, specs, seed, workers, on_progress, cancel, device)
        return builder.write(folder, key)


def _variant_specs(variants: Sequence[Any]) -> list[tuple[str, dict]]:
    from trainer.augment import AUGMENTATIONS

    specs = []
    for v in variants:
        name, kwargs = (v, {}) if isinstance(v, str) else (v[0], dict(v[1]))
        if name not in AUGMENTATIONS:
            raise ValueError(f"unknown augmentation variant {name!r}; valid: {', '.join(sorted(AUGMENTATIONS))}")
        specs.append((name, kwargs))
    if len({n for n, _ in specs}) != len(specs):
        raise ValueError(f"each variant may appear once, got {[n for n, _ in specs]}")
    return specs


def cache_key(manifest, config: FrontendConfig, specs, seed: int) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps({"version": CACHE_VERSION, "frontend": asdict(config), "variants": specs,
                              "seed": seed, "labels": list(manifest.labels)}, sort_keys=True).encode())
    for clip in manifest.clips:
        try:
            stat = clip.path.stat()
            stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        digest.update(f"\n{clip.path}|{stamp}|{clip.label}|{clip.group}".encode())
    return digest.hexdigest()


class _Builder:
    def __init__(self, manifest, config, specs, seed, workers, on_progress, cancel, device):
        self.manifest, self.config, self.specs, self.seed = manifest, config, specs, seed
        self.workers = default_workers(len(manifest.clips)) if workers is None else max(1, int(workers))
        self.on_progress = on_progress or ignore_progress
        self.cancel, self.device = cancel, device
        self.names = [ORIGINAL] + [name for name, _ in specs]
        self.label_index = {label: i for i, label in enumerate(manifest.labels)}

    def write(self, folder: Path, key: str) -> FeatureCache:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            items, skipped, shape = self._fill(tmp)
            config = {"key": key, "frontend": asdict(self.config), "variants": self.specs, "seed": self.seed,
                      "labels": list(self.manifest.labels), "n_clips": len(self.manifest.clips),
                      "shape": list(shape)}
            atomic_write_json(tmp / "index.json", {"config": config, "items": [asdict(i) for i in items],
                                                   "skipped": skipped})
            try:
                os.replace(tmp, folder)
            except OSError:  # built meanwhile by another process (e.g. another DDP rank): use theirs
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        cache = FeatureCache.open(folder)
        cache.reused = False
        return cache

    def _fill(self, tmp: Path) -> tuple[list[CacheItem], list[tuple[str, str]], tuple[int, int, int]]:
        clips = self.manifest.clips
        frontend = self.config.logmel().to(self.device).eval()
        n_frames = frontend.n_frames(self.config.n_samples)
        items, skipped, done = [], [], 0
        with open(tmp / "features.f16", "wb") as out:
            for results in self._prepared_chunks():
                good = [(ci, prepared) for ci, prepared, err in results if err is None]
                skipped += [(str(clips[ci].path), err) for ci, _, err in results if err is not None]
                if good:
                    out.write(self._logmels(frontend, good).tobytes())
                for ci, (_, starts, clip_samples) in good:
                    clip = clips[ci]
                    for w, start in enumerate(starts):
                        items += [CacheItem(len(items) + v, ci, name, clip.group, self.label_index[clip.label],
                                            str(clip.path), w, int(start), int(clip_samples))
                                  for v, name in enumerate(self.names)]
                done += len(results)
                self.on_progress(Progress("cache", done, len(clips), f"features for {done}/{len(clips)} clips"))
        if not items:
            reasons = "; ".join(reason for _, reason in skipped[:3])
            raise CacheError(f"{self.manifest.root}: none of the {len(clips)} clips could be read ({reasons})")
        return items, skipped, (len(items), self.config.n_mels, n_frames)

    def _logmels(self, frontend, good) -> np.ndarray:
        """float16 log-mels of every window and variant of ``good``, in item order."""
        waves = np.concatenate([prepared[0].reshape(-1, prepared[0].shape[-1]) for _, prepared in good])
        rows = []
        with torch.inference_mode():
            for start in range(0, len(waves), 64):   # bounded memory for long clips
                batch = torch.from_numpy(waves[start : start + 64]).to(self.device)
                rows.append(frontend(batch)[:, 0].float().cpu().numpy().astype(np.float16))
        return np.concatenate(rows)

    def _prepared_chunks(self) -> Iterator[list]:
        clips = self.manifest.clips
        tasks = [(i, str(c.path)) for i, c in enumerate(clips)]
        chunks = [tasks[i : i + CHUNK_CLIPS] for i in range(0, len(tasks), CHUNK_CLIPS)]
        # the same hop as OnnxClassifier.classify (half the model's clip length)
        hop = max(1, int(round(self.config.clip_s / 2 * self.config.sample_rate_hz)))
        args = (self.config.sample_rate_hz, self.config.n_samples, self.specs, self.seed, hop)
        if self.workers <= 1 or len(chunks) <= 1:
            keep_freed_memory()
            for chunk in chunks:
                self._check_cancel()
                yield prepare_chunk(chunk, *args)
            return
        import multiprocessing

        # spawn, not fork: the parent may run threads (a GUI, torch's pools)
        context = multiprocessing.get_context("spawn")
        workers = min(self.workers, len(chunks))
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=keep_freed_memory)
        ended_well = False
        try:
            # At most two chunks per worker in flight: the parent's memory stays bounded
            # however large the data set (all-at-once submission grew it by 75-369 MiB).
            pending = iter(chunks)
            futures: collections.deque = collections.deque()
            try:
                futures.extend(pool.submit(prepare_chunk, chunk, *args) for chunk in itertools.islice(pending, 2 * workers))
                while futures:
                    self._check_cancel()
                    result = futures.popleft().result()
                    for chunk in itertools.islice(pending, 1):
                        futures.append(pool.submit(prepare_chunk, chunk, *args))
                    yield result
            except BrokenProcessPool as exc:
                raise CacheError(
                    "a data-preparation worker process died (killed, perhaps by the system running out of "
                    "memory); nothing of the cache was lost. Run again, or with fewer workers "
                    "(--workers 1) if memory is short") from exc
            ended_well = True
        finally:
            _close_pool(pool, wait=ended_well)

    def _check_cancel(self) -> None:
        if self.cancel is not None:
            self.cancel.raise_if_cancelled("building the feature cache")


def _close_pool(pool: ProcessPoolExecutor, *, wait: bool) -> None:
    """Shut the pool down; after a failure or a cancel its workers are terminated, not joined.
    A worker killed while it held the pool's queue lock leaves the others blocked on that lock
    for ever, and ``shutdown(wait=True)`` (CPython's own broken-pool handling too) joins them:
    the cache build hung (seen in the suite's killed-worker test)."""
    if wait:
        pool.shutdown(wait=True)
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())  # private, so looked up with care
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(2.0)
        if process.is_alive():
            process.kill()
            process.join(2.0)


# A spawned worker pays ~6.5 s (12 s under load) importing librosa for its first pitch
# shift, while one clip with five variants takes ~0.1 s in-process (bench/bench_scaling.py):
# two workers only win past ~130 clips on two cores, so smaller sets prepare in-process
# (24 clips: 2.8-3.1 s in-process vs 7.9-16.4 s with 2 workers; docs/BENCHMARKS.md).
IN_PROCESS_MAX_CLIPS = 200


def default_workers(n_clips: int | None = None) -> int:
    if n_clips is not None and n_clips < IN_PROCESS_MAX_CLIPS:
        return 1
    return max(1, min(4, os.cpu_count() or 1))


class CachedFeatures(Dataset):
    """A torch Dataset over the memory-mapped cache: ``(logmel [1, n_mels, frames] float32, label, item)``.

    The memory map is opened lazily in each process that reads it (DataLoader
    workers included), so nothing is ever loaded whole.
    """

    def __init__(self, features_path: Path, items: Sequence[CacheItem], shape: tuple[int, int, int],
                 band_stats: np.ndarray | None = None):
        self.features_path = Path(features_path)
        self.shape = tuple(shape)
        self.rows = np.array([it.item for it in items], dtype=np.int64)
        self.labels = np.array([it.label_index for it in items], dtype=np.int64)
        if band_stats is not None and np.shape(band_stats) != (len(self.rows), 2, self.shape[1]):
            raise ValueError(f"band statistics {list(np.shape(band_stats))} do not fit {len(self.rows)} items "
                             f"of {self.shape[1]} mel bands")
        self.band_stats = None if band_stats is None else np.asarray(band_stats, dtype=np.float32)
        self._features: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int):
        if self._features is None:
            self._features = np.memmap(self.features_path, dtype=np.float16, mode="r", shape=self.shape)
        row = int(self.rows[index])
        x = np.asarray(self._features[row], dtype=np.float32)
        if self.band_stats is not None:
            mean, std = self.band_stats[index]
            x = (x - mean[:, None]) / std[:, None]
        return torch.from_numpy(x).unsqueeze(0), int(self.labels[index]), row

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_features"] = None
        return state
