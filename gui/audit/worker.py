"""The Audit tab's background jobs, in the ``engine.jobs`` contract (run by ``JobWorker``).

Ranking goes through ``trainer.api`` (torch imported lazily, inside the job, never at app start).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.audio import Audio, load_audio
from engine.errors import EarmarkError
from engine.jobs import CancelToken, Progress
from engine.spectrogram import Spectrogram, spectrogram_db

MAX_CLIP_S = 600.0


@dataclass(frozen=True)
class RankRequest:
    manifest: Any                  # engine.manifest.Manifest, as edited
    model_path: str | None = None
    folds: int = 5
    seed: int = 0


def rank_suspects_job(request: RankRequest, *, on_progress, cancel: CancelToken):
    """Rank the clips, most suspect first (``trainer.audit.AuditResult``), through the service layer."""
    try:
        from trainer.api import AuditRequest, audit
    except ImportError as exc:
        raise EarmarkError(f"Ranking needs the training extras (pip install .[train]): {exc}") from exc

    def report(p) -> None:
        on_progress(Progress(p.stage, p.step, p.total, p.message,
                             fraction=1.0 if p.stage == "done" else None))

    return audit(AuditRequest(request.manifest, request.model_path, request.folds, request.seed),
                 on_progress=report, cancel=cancel)


@dataclass(frozen=True)
class LoadedClip:
    key: str
    audio: Audio
    spectrogram: Spectrogram


def load_clip_job(request: tuple[str, Path], *, on_progress, cancel: CancelToken) -> LoadedClip:
    """Decode one clip and compute its display spectrogram (the GUI thread only draws them)."""
    key, path = request
    cancel.raise_if_cancelled("loading the clip")
    audio = load_audio(path, max_s=MAX_CLIP_S)
    cancel.raise_if_cancelled("loading the clip")
    rate = audio.sample_rate_hz
    spec = spectrogram_db(audio.samples, rate, n_fft=1024 if rate > 24000 else 512)
    return LoadedClip(key, audio, spec)
