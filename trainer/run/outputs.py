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
from engine.audio.io import fit_length, load_audio, window_starts
from engine.errors import AudioLoadError
from engine.models.metadata import build_metadata
from trainer.models.frontend import WaveformModel

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


def _clip_windows(path: str, sample_rate_hz: int, n_samples: int, hop: int):
    """The clip's windows as ``classify`` cuts them, 32 at a time, as float32 tensors."""
    samples = load_audio(path, sample_rate_hz).samples
    starts = window_starts(len(samples), n_samples, hop)
    for i in range(0, len(starts), 32):
        batch = np.stack([fit_length(samples[s : s + n_samples], n_samples) for s in starts[i : i + 32]])
        yield torch.from_numpy(batch.astype(np.float32))


def clip_probabilities(model: WaveformModel, path: str, sample_rate_hz: int, n_samples: int,
                       hop: int, stats: np.ndarray | None = None) -> np.ndarray:
    """The model's probabilities for a whole clip: its windows' mean, as ``classify`` computes it
    (with ``stats``, a band-normalised model calibrated to them, as ``classify --calibrate``)."""
    fed = None if stats is None else torch.from_numpy(np.asarray(stats, dtype=np.float32))
    total, count = None, 0
    for batch in _clip_windows(path, sample_rate_hz, n_samples, hop):
        probs = model(batch, fed).numpy().astype(np.float64).sum(axis=0)
        total = probs if total is None else total + probs
        count += len(batch)
    return total / count


def calibration_stats(model: WaveformModel, paths: Sequence[str], sample_rate_hz: int, n_samples: int,
                      hop: int) -> np.ndarray | None:
    """The band statistics ``classify --calibrate`` computes over these clips: their voiced audio
    (engine/audio/voicing.py) joined into windows (engine.models.calibration.VoicedWindows; ``hop``
    is unused since); None when none of them can be read or nothing in them is voiced."""
    from engine.audio.voicing import voiced_audio
    from engine.models.calibration import BandMoments, VoicedWindows
    from trainer.models.frontend import band_moments

    pooled, cutter = BandMoments(model.frontend.n_mels), VoicedWindows(n_samples, sample_rate_hz)

    def pool(windows: np.ndarray) -> None:
        for i in range(0, len(windows), 32):
            pooled.add(band_moments(model.frontend(torch.from_numpy(windows[i : i + 32]))).numpy())

    for path in paths:
        try:
            samples = load_audio(path, sample_rate_hz).samples
        except AudioLoadError:
            continue
        pool(cutter.add(voiced_audio(samples, sample_rate_hz)))
    pool(cutter.finish())
    return pooled.stats() if pooled.count else None


def write_val_predictions(model: WaveformModel, items, labels: Sequence[str], sample_rate_hz: int,
                          n_samples: int, path: Path, clip_s: float | None = None,
                          speakers: dict[str, str] | None = None) -> int:
    """PyTorch probabilities of the exported graph for each clip of ``items`` (windows averaged), as CSV.

    With ``speakers`` (``{path: speaker}``) a band-normalised model is calibrated to each speaker
    over that speaker's clips here, as ``classify --calibrate`` on those files would be."""
    truth = {it.path: labels[it.label_index] for it in items}
    hop = max(1, int(round((clip_s or n_samples / sample_rate_hz) / 2 * sample_rate_hz)))
    calibrated = speakers is not None and model.band_norm is not None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", *(["speaker"] if calibrated else []), "true_label", "predicted_label",
                     *[f"p_{label}" for label in labels]])
    rows = 0
    model.eval()
    with torch.no_grad():
        stats = {}
        if calibrated:
            for speaker in sorted(set(speakers[p] for p in truth)):
                paths = [p for p in truth if speakers[p] == speaker]
                stats[speaker] = calibration_stats(model, paths, sample_rate_hz, n_samples, hop)
        for clip_path in truth:
            speaker = speakers[clip_path] if calibrated else None
            try:
                p = clip_probabilities(model, clip_path, sample_rate_hz, n_samples, hop, stats.get(speaker))
            except AudioLoadError:
                continue
            writer.writerow([clip_path, *([speaker] if calibrated else []), truth[clip_path],
                             labels[int(p.argmax())], *[f"{v:.6f}" for v in p]])
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
        if "thresholds" in metrics:
            figures["thresholds"] = metrics["thresholds"]
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
        recipe=recipe_summary(config), **figures, **band_norm_entry(config),
    )


def band_norm_entry(config) -> dict[str, Any]:
    """How a speaker-normalised model wants its input's bands normalised (engine/models/calibration.py)."""
    if not getattr(config, "speaker_norm", False):
        return {}
    return {"band_norm": {"scheme": "speaker", "n_mels": config.n_mels,
                          "default": "the training speakers' band statistics averaged",
                          "calibrate": "main.py classify --calibrate FILES: statistics of one speaker's "
                                       "unlabelled clips"}}


def recipe_summary(config) -> dict[str, Any]:
    """The settings that made the model, for its metadata (the full request is config.json)."""
    keys = ("model", "epochs", "batch_size", "lr", "weight_decay", "label_smoothing", "mixup_alpha",
            "spec_augment", "ema_decay", "time_shift", "freq_warp", "time_warp", "speaker_norm", "n_mels", "n_fft",
            "hop_length", "clip_s", "window_hop_s", "refit_epochs")
    return {key: getattr(config, key) for key in keys if hasattr(config, key)}
