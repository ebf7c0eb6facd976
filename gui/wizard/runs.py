"""Kept training runs: one folder per run under the user data folder (``EARMARK_RUNS_DIR`` overrides).

A run folder holds what the training job writes (``config.json``, ``metrics.json``,
``model.onnx``, ``val_predictions.csv``, figures, checkpoints) plus the wizard's
``wizard.json``: the data source and summary, the split it showed (with the leakage
audit) and the augmentation variants. Qt-free and torch-free.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from engine.atomic import atomic_write_json
from gui.wizard.figures import format_figure, headline, n_runs

WIZARD_FILE = "wizard.json"
METRICS_FILE = "metrics.json"


def runs_dir() -> Path:
    """Where runs are kept: ``$EARMARK_RUNS_DIR`` or the user data folder / ``runs``."""
    from engine.userdirs import runs_dir as user_runs_dir

    return user_runs_dir()


def new_run_dir(model_name: str, *, root: Path | None = None, now: datetime | None = None) -> Path:
    """A fresh, empty run folder named by time and model (``20261124-123456-cnn``)."""
    root = root or runs_dir()
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", model_name) or "model"
    path, n = root / f"{stamp}-{safe}", 1
    while path.exists():
        n += 1
        path = root / f"{stamp}-{safe}-{n}"
    path.mkdir(parents=True)
    return path


@dataclass(frozen=True)
class RunRecord:
    """One kept run as the "Open a past run" list shows it."""

    path: Path
    model: str
    created: str
    status: str               # "finished" | "cancelled" | "failed" | "incomplete"
    accuracy: str             # "0.812 ± 0.020", "0.812" (one seed), "0.812 (pooled)" or "—"
    data: str

    @property
    def finished(self) -> bool:
        return self.status == "finished"


def write_wizard_record(run_dir: Path, record: dict[str, Any]) -> None:
    atomic_write_json(run_dir / WIZARD_FILE, record)


def update_status(run_dir: Path, status: str, message: str = "") -> None:
    record = read_json(run_dir / WIZARD_FILE) or {}
    record.update(status=status, status_message=message)
    atomic_write_json(run_dir / WIZARD_FILE, record)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_metrics(run_dir: Path) -> dict[str, Any] | None:
    return read_json(Path(run_dir) / METRICS_FILE)


def list_runs(root: Path | None = None) -> list[RunRecord]:
    """Every run folder under ``root`` (newest first), finished or not."""
    root = root or runs_dir()
    if not root.is_dir():
        return []
    records = [_record(p) for p in root.iterdir() if p.is_dir() and _looks_like_run(p)]
    return sorted(records, key=lambda r: r.path.name, reverse=True)


def _looks_like_run(path: Path) -> bool:
    return any((path / name).is_file() for name in (WIZARD_FILE, METRICS_FILE, "config.json"))


def _record(path: Path) -> RunRecord:
    wizard = read_json(path / WIZARD_FILE) or {}
    config = read_json(path / "config.json") or {}
    metrics = read_metrics(path)
    status = "finished" if metrics else wizard.get("status", "incomplete")
    accuracy = "—"
    if metrics:
        top = headline(metrics)
        if top["source"] == "pooled" and top["accuracy"] is not None:
            accuracy = f"{top['accuracy']:.3f} (pooled)"
        elif (metrics.get("summary") or {}).get("accuracy", {}).get("mean") is not None:
            accuracy = format_figure(metrics["summary"]["accuracy"], n_runs(metrics["summary"]))
    created = wizard.get("created_utc") or datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(
        timespec="seconds")
    data = wizard.get("data", {}).get("source") or config.get("data", "")
    return RunRecord(path, config.get("model") or wizard.get("model", {}).get("name", "?"), created, status,
                     accuracy, Path(str(data)).name if data else "")


@dataclass(frozen=True)
class Prediction:
    path: Path
    true_label: str
    predicted_label: str


def read_predictions(run_dir: Path, name: str | None = None) -> list[Prediction]:
    """The exported model's prediction for every held-out clip: ``test_predictions.csv`` when the run
    has one (its confusion matrix is the test one), else ``val_predictions.csv``; or the file ``name``
    (``oof_predictions.csv``: cross-validation's pooled out-of-fold predictions)."""
    names = [name] if name else ["test_predictions.csv", "val_predictions.csv"]
    path = next((Path(run_dir) / n for n in names if (Path(run_dir) / n).is_file()), None)
    if path is None:
        return []
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return [Prediction(Path(row["path"]), row["true_label"], row["predicted_label"])
                    for row in csv.DictReader(handle)]
    except (OSError, KeyError, csv.Error, UnicodeDecodeError):
        return []


def kept_checkpoints(run_dir: Path | None) -> list[Path]:
    """The best checkpoints a run kept (a cancelled run's are exportable), hold-out or per fold."""
    if run_dir is None:
        return []
    run_dir = Path(run_dir)
    return sorted([*run_dir.glob("checkpoints/seed*/best.pt"), *run_dir.glob("fold*/checkpoints/seed*/best.pt")])


def exportable(run_dir: Path) -> bool:
    """A finished run with its model, or a stopped run with a kept checkpoint."""
    return (Path(run_dir) / "model.onnx").is_file() or bool(kept_checkpoints(run_dir))
