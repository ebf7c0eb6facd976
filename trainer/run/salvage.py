"""Export the best checkpoint of a cancelled (or otherwise unfinished) training run.

``export_checkpoint(run_dir, *, on_progress, cancel) -> Path`` follows :mod:`engine.jobs`.
It reads the run's resolved request (``config.json``), picks the checkpoint with the lowest
validation loss among ``<run>/checkpoints/seed*/best.pt`` (a cross-validation run:
``<run>/fold<i>/checkpoints/seed*/best.pt``, each fold with its own ``config.json``), rebuilds
the network with :mod:`trainer.run.build` and exports it with :func:`trainer.run.export.export_onnx`
to ``<run>/salvaged_model.onnx``. The model file's metadata says plainly that it comes from a
cancelled run (``"cancelled": true``, the epoch, seed and fold it came from) and that its
figures are incomplete: the run never reached its test figures, so there are none.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import EarmarkError
from engine.jobs import CancelToken, Progress, ignore_progress
from trainer.run.resolve import frontend_config

SALVAGED_FILE = "salvaged_model.onnx"
EXAMPLE_CLIPS = 4


class SalvageError(EarmarkError):
    """A cancelled run's checkpoint cannot be exported (none kept, unreadable, no config)."""


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    config_path: Path
    epoch: int
    seed: int
    val_loss: float
    fold: int | None

    def describe(self) -> str:
        fold = f"fold {self.fold}, " if self.fold is not None else ""
        return f"{fold}epoch {self.epoch}, seed {self.seed}"


def export_checkpoint(run_dir: str | Path, *, on_progress=ignore_progress, cancel: CancelToken | None = None) -> Path:
    """Export the best kept checkpoint of ``run_dir``; returns the ONNX file written."""
    import torch

    from trainer.data.grouping import training_manifest
    from trainer.run.build import build_classifier, export_model
    from trainer.run.export import export_onnx

    cancel = cancel or CancelToken()
    run_dir = Path(run_dir)
    on_progress(Progress("salvage", 0, 3, f"looking for checkpoints in {run_dir}", fraction=0.0))
    best, state = best_checkpoint(run_dir)
    cancel.raise_if_cancelled("the export")
    config = read_config(best.config_path)
    manifest, _grouping = training_manifest(config.data, config.layout)
    labels = list(manifest.labels)
    on_progress(Progress("salvage", 1, 3, f"rebuilding the network of {best.describe()}", fraction=0.3))
    classifier = build_classifier(config, len(labels))
    try:
        classifier.load_state_dict(state["model"])
    except (RuntimeError, KeyError, TypeError) as exc:
        raise SalvageError(f"{best.path}: the checkpoint does not fit the network in {best.config_path} "
                           f"({exc})") from exc
    band_default = None
    if config.speaker_norm:
        from trainer.data.speaker_norm import read_default

        try:
            band_default = read_default(best.config_path.parent, config.n_mels)
        except ValueError as exc:
            raise SalvageError(str(exc)) from exc
    model = export_model(config, classifier, band_default)
    example = example_batch(manifest, config)
    cancel.raise_if_cancelled("the export")
    target = run_dir / SALVAGED_FILE
    on_progress(Progress("export", 2, 3, f"exporting {best.describe()} to {target}", fraction=0.5))
    with torch.no_grad():
        export_onnx(model, target, metadata=salvage_metadata(config, manifest, best), example=example,
                    tolerance=config.export_tolerance)
    on_progress(Progress("done", 3, 3, f"exported from a cancelled run ({best.describe()}): figures incomplete",
                         fraction=1.0))
    return target


def find_checkpoints(run_dir: Path) -> list[Checkpoint]:
    """Every ``best.pt`` kept under ``run_dir`` (hold-out and cross-validation layouts)."""
    found = []
    for path in sorted([*run_dir.glob("checkpoints/seed*/best.pt"), *run_dir.glob("fold*/checkpoints/seed*/best.pt")]):
        fold_dir = path.parents[2]
        fold = int(fold_dir.name[4:]) if fold_dir != run_dir and fold_dir.name[4:].isdigit() else None
        config_path = fold_dir / "config.json" if (fold_dir / "config.json").is_file() else run_dir / "config.json"
        found.append(Checkpoint(path, config_path, 0, 0, math.inf, fold))
    return found


def best_checkpoint(run_dir: Path) -> tuple[Checkpoint, dict[str, Any]]:
    """The kept checkpoint with the lowest validation loss, and its loaded state."""
    import torch

    candidates = find_checkpoints(run_dir)
    if not candidates:
        raise SalvageError(f"{run_dir}: no checkpoint was kept (no epoch had ended), so there is nothing to export")
    best: tuple[Checkpoint, dict[str, Any]] | None = None
    problems = []
    for candidate in candidates:
        try:
            state = torch.load(candidate.path, map_location="cpu", weights_only=True)
            loss = float(state["val_loss"])
            checked = dataclasses.replace(candidate, epoch=int(state["epoch"]), seed=int(state["seed"]),
                                          val_loss=loss if math.isfinite(loss) else math.inf)
        except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a damaged file
            problems.append(f"{candidate.path}: {type(exc).__name__}: {exc}")
            continue
        if best is None or checked.val_loss < best[0].val_loss:
            best = (checked, state)
    if best is None:
        raise SalvageError(f"{run_dir}: no kept checkpoint could be read ({'; '.join(problems)})")
    return best


def read_config(path: Path):
    """The resolved :class:`trainer.recipe.TrainRequest` a run saved as ``config.json``."""
    from trainer.recipe import TrainRequest

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SalvageError(f"{path}: cannot read the run's settings ({exc})") from exc
    if not isinstance(raw, dict):
        raise SalvageError(f"{path}: the run's settings are not a JSON object")
    known = {f.name for f in dataclasses.fields(TrainRequest)}
    try:
        config = TrainRequest(**{k: v for k, v in raw.items() if k in known})
    except (TypeError, ValueError) as exc:
        raise SalvageError(f"{path}: the run's settings are not usable ({exc})") from exc
    if config.sample_rate_hz is None or config.clip_s is None or config.input_size is None:
        raise SalvageError(f"{path}: the settings were saved before they were resolved (no sample rate, clip "
                           f"length or input size); the run stopped before its first epoch")
    return config


def example_batch(manifest, config):
    """A few real clips of the data set for the export's parity check."""
    import numpy as np
    import torch

    from engine.audio.io import fit_length, load_audio
    from engine.errors import AudioLoadError

    n_samples = frontend_config(config).n_samples
    waves = []
    for clip in manifest.clips:
        try:
            waves.append(fit_length(load_audio(clip.path, config.sample_rate_hz).samples, n_samples))
        except AudioLoadError:
            continue
        if len(waves) == EXAMPLE_CLIPS:
            break
    if not waves:
        raise SalvageError(f"{manifest.root}: no clip could be read for the export's parity check")
    return torch.from_numpy(np.stack(waves).astype(np.float32))


def salvage_metadata(config, manifest, best: Checkpoint) -> dict[str, Any]:
    """The model file's metadata: the contract's fields, and plainly that the run was cancelled."""
    from engine.models.metadata import build_metadata
    from trainer.run.outputs import band_norm_entry

    checkpoint = {"epoch": best.epoch, "seed": best.seed, "val_loss": best.val_loss if math.isfinite(best.val_loss)
                  else None, **({"fold": best.fold} if best.fold is not None else {})}
    return build_metadata(
        labels=list(manifest.labels), sample_rate_hz=config.sample_rate_hz, clip_s=config.clip_s,
        architecture=config.model + (f"_{config.attn}" if config.attn else ""),
        input_size=list(config.input_size), n_mels=config.n_mels, n_fft=config.n_fft,
        task=manifest.layout, layout="waveform",
        training_data={"n_clips": len(manifest.clips), "class_counts": manifest.class_counts(),
                       "data_folder": Path(manifest.root).name, "layout": manifest.layout,
                       "variants": [list(v) if isinstance(v, tuple) else v for v in config.variants]},
        seeds=list(config.seeds), exported_seed=best.seed,
        cancelled=True, checkpoint=checkpoint, metrics={},
        figures="incomplete: the run was cancelled before its test figures; the checkpoint was chosen "
                "by its validation loss only",
        note=f"exported from a cancelled run ({best.describe()}): figures incomplete",
        **band_norm_entry(config),
    )
