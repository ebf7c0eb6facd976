"""Wrong answers become training data: clips a person marked as answered wrongly, kept as a data set.

In the Live tab a key marks the current answer wrong, optionally with the right label. The audio
the answer came from, with up to :data:`CONTEXT_S` of what came before it, is saved as a clip in
the model's corrections folder and listed in its ``data.csv`` (the CSV layout every reader takes):
labelled with the right class when the person gave one, else with :data:`BACKGROUND` (a hard
negative: "none of the classes"). The wizard opens that folder as a data set, so retraining with
the corrections is one step; ``main.py train --data <folder>/data.csv`` does the same.

Each listening session is one split group, so clips from one session never fall on both sides of
a split. Clips are written atomically and the list is rewritten under a lock, so two windows
marking answers at once lose nothing.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from engine.atomic import atomic_write_text, file_lock
from engine.audio.io import save_audio

CSV_NAME = "data.csv"
BACKGROUND = "background"
CONTEXT_S = 2.0                # audio kept before the answered window
HEADER = ["path", "label", "group", "answered", "window_start_s", "window_end_s", "model", "time"]


@dataclass(frozen=True)
class Correction:
    path: Path
    label: str          # the right label, or BACKGROUND
    answered: str       # what the model said
    group: str          # the listening session


def corrections_folder(model_path: str | os.PathLike) -> Path:
    """Where a model's corrections are kept: ``$EARMARK_CORRECTIONS_DIR`` or the user data folder,
    one folder per model name."""
    from engine.userdirs import user_data_dir

    root = Path(os.environ.get("EARMARK_CORRECTIONS_DIR") or user_data_dir() / "corrections")
    return root / _safe(Path(model_path).stem)


def add_correction(folder: str | os.PathLike, samples: np.ndarray, sample_rate_hz: int, *, window_s: float,
                   answered: str, right: str | None, session: str, model: str = "") -> Correction:
    """Save ``samples`` (the answered window at their end, context before it) and list them."""
    folder = Path(folder)
    label = (right or "").strip() or BACKGROUND
    now = datetime.now(timezone.utc)
    name = f"{now.strftime('%Y%m%d-%H%M%S-%f')}_{_safe(label)}.wav"
    clip = folder / "clips" / name
    clip.parent.mkdir(parents=True, exist_ok=True)
    samples = np.asarray(samples, dtype=np.float32)
    save_audio(clip, samples, sample_rate_hz)
    length_s = len(samples) / sample_rate_hz
    row = [f"clips/{name}", label, session, answered, f"{max(0.0, length_s - window_s):.3f}", f"{length_s:.3f}",
           model, now.isoformat(timespec="seconds")]
    csv_path = folder / CSV_NAME
    with file_lock(csv_path):
        rows = read_rows(folder)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows([[r.get(k, "") for k in HEADER] for r in rows] + [row])
        atomic_write_text(csv_path, buffer.getvalue())
    return Correction(clip, label, answered, session)


def read_rows(folder: str | os.PathLike) -> list[dict[str, str]]:
    path = Path(folder) / CSV_NAME
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def correction_sets() -> list[tuple[str, Path, int]]:
    """``(model name, data.csv, clips)`` of every model's corrections kept so far, newest first."""
    root = corrections_folder("x").parent
    found = []
    for folder in (root.iterdir() if root.is_dir() else ()):
        csv_path = folder / CSV_NAME
        if folder.is_dir() and csv_path.is_file():
            found.append((folder.name, csv_path, len(read_rows(folder)), csv_path.stat().st_mtime))
    return [(name, path, n) for name, path, n, _ in sorted(found, key=lambda f: -f[3])]


def new_session() -> str:
    """A group name for one listening session."""
    return "live-" + datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def _safe(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text, flags=re.UNICODE).strip("._") or "clip"
