"""What a run leaves behind: model.onnx with metadata, val_predictions.csv, figures, metrics.json."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.atomic import atomic_write_text
from engine.audio import fit_length, load_audio, window_starts
from engine.errors import AudioLoadError
from engine.model import build_metadata
from trainer.frontend import WaveformModel

EXAMPLE_CLIPS = 4


def waveform_batches(paths: Sequence[str], sample_rate_hz: int, n_samples: int, batch: int = 32):
    """``(paths, waveforms [b, n])`` in order: each clip's first window, decoded as the cache decodes it."""
    for start in range(0, len(paths), batch):
        chunk, waves = [], []
        for path in paths[start : start + batch]:
            try:
                waves.append(fit_length(load_audio(path, sample_rate_hz).samples, n_samples))
            except AudioLoadError:
                continue
            chunk.append(path)
        if waves:
            yield chunk, torch.from_numpy(np.stack(waves).astype(np.float32))


def clip_probabilities(model: WaveformModel, path: str, sample_rate_hz: int, n_samples: int,
                       hop: int) -> np.ndarray:
    """The model's probabilities for a whole clip: its windows' mean, as ``classify`` computes it."""
    samples = load_audio(path, sample_rate_hz).samples
    starts = window_starts(len(samples), n_samples, hop)
    total = None
    for i in range(0, len(starts), 32):
        batch = np.stack([fit_length(samples[s : s + n_samples], n_samples) for s in starts[i : i + 32]])
        probs = model(torch.from_numpy(batch.astype(np.float32))).numpy().astype(np.float64).sum(axis=0)
        total = probs if total is None else total + probs
    return total / len(starts)


def write_val_predictions(model: WaveformModel, items, labels: Sequence[str], sample_rate_hz: int,
                          n_samples: int, path: Path, clip_s: float | None = None) -> int:
    """PyTorch probabilities of the exported graph for each clip of ``items`` (windows averaged), as CSV."""
    truth = {it.path: labels[it.label_index] for it in items}
    hop = max(1, int(round((clip_s or n_samples / sample_rate_hz) / 2 * sample_rate_hz)))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "true_label", "predicted_label", *[f"p_{label}" for label in labels]])
    rows = 0
    model.eval()
    with torch.no_grad():
        for clip_path in truth:
            try:
                p = clip_probabilities(model, clip_path, sample_rate_hz, n_samples, hop)
            except AudioLoadError:
                continue
            writer.writerow([clip_path, truth[clip_path], labels[int(p.argmax())], *[f"{v:.6f}" for v in p]])
            rows += 1
    atomic_write_text(path, buffer.getvalue())
    return rows


def example_batch(items, sample_rate_hz: int, n_samples: int) -> torch.Tensor:
    """A few real validation clips for the export's parity check."""
    paths = [it.path for it in items][:EXAMPLE_CLIPS * 2]
    for _, waves in waveform_batches(paths, sample_rate_hz, n_samples, batch=len(paths) or 1):
        return waves[:EXAMPLE_CLIPS]
    raise AudioLoadError("no validation clip could be read for the export check")


def model_metadata(config, manifest, split, split_sizes: dict[str, int], metrics: dict[str, Any],
                   best_seed: int, skipped: int, report: dict[str, Any] | None = None) -> dict[str, Any]:
    """The model file's metadata. ``metrics`` are the test figures (the run's headline); a refit
    on every clip has none of its own and carries the cross-validation's ``report`` instead."""
    keys = ("accuracy", "macro_f1", "auc_ovr")
    if report is not None:
        figures = dict(report)
    else:
        figures = {"metrics": {key: metrics["summary"][key] for key in keys} if "summary" in metrics else {},
                   "evaluation": metrics.get("evaluation", {})}
        if "val_summary" in metrics:
            figures["val_metrics"] = {key: metrics["val_summary"][key] for key in keys}
    return build_metadata(
        labels=list(manifest.labels), sample_rate_hz=config.sample_rate_hz, clip_s=config.clip_s,
        architecture=config.model + (f"_{config.attn}" if config.attn else ""),
        input_size=list(config.input_size), n_mels=config.n_mels, n_fft=config.n_fft,
        task=manifest.layout, layout="waveform",
        training_data={"n_clips": len(manifest.clips) - skipped, "class_counts": manifest.class_counts(),
                       "data_folder": Path(manifest.root).name, "layout": manifest.layout,
                       "variants": list(config.variants)},
        split={**split.describe(), "sizes": split_sizes, "seed": config.split_seed},
        seeds=list(config.seeds), exported_seed=best_seed,
        recipe=recipe_summary(config), **figures,
    )


def recipe_summary(config) -> dict[str, Any]:
    """The settings that made the model, for its metadata (the full request is config.json)."""
    keys = ("model", "epochs", "batch_size", "lr", "weight_decay", "label_smoothing", "mixup_alpha",
            "spec_augment", "ema_decay", "time_shift", "freq_warp", "time_warp", "n_mels", "n_fft", "hop_length", "clip_s", "window_hop_s",
            "refit_epochs")
    return {key: getattr(config, key) for key in keys if hasattr(config, key)}
