"""The Audit tab's background jobs, in the ``engine.jobs`` contract (run by ``JobWorker``).

Ranking goes through ``trainer.api`` in a child process (``engine.jobs.process``): torch and
scikit-learn load there, never in the app's process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.audio.io import Audio, load_audio
from engine.audio.spectrogram import Spectrogram, spectrogram_db
from engine.errors import EarmarkError
from engine.jobs import CancelToken, Progress
from engine.jobs.process import ProcessRunner

MAX_CLIP_S = 600.0
RANKING_PROCESS = "The ranking process"
RANKING_CANCEL_GRACE_S = 3.0    # the ranking checks its token at least once a second
RANKING_STOP_S = 1.0


@dataclass(frozen=True)
class RankRequest:
    manifest: Any                  # engine.datasets.manifest.Manifest, as edited
    model_path: str | None = None
    folds: int = 5
    seed: int = 0


def rank_suspects_job(request: RankRequest, *, on_progress, cancel: CancelToken):
    """Rank the clips, most suspect first (``trainer.audit.rank.AuditResult``), through the service layer,
    in a process of its own (torch and scikit-learn never load in the app's process)."""
    try:
        from trainer.api import AuditRequest, missing_training_packages
    except ImportError as exc:
        raise EarmarkError(f"Ranking needs the training extras (pip install .[train]): {exc}") from exc
    missing = missing_training_packages()
    if missing:
        raise EarmarkError(f"Ranking needs the training extras (pip install .[train]); not found: {', '.join(missing)}")

    def report(p) -> None:
        on_progress(Progress(p.stage, p.step, p.total, p.message,
                             fraction=1.0 if p.stage == "done" else None))

    runner = ProcessRunner(RANKING_PROCESS, preload=("trainer.api",), cancel_grace_s=RANKING_CANCEL_GRACE_S)
    try:
        return runner.call("trainer.api:audit", AuditRequest(request.manifest, request.model_path, request.folds,
                                                             request.seed), on_progress=report, cancel=cancel)
    except ImportError as exc:
        raise EarmarkError(f"Ranking needs the training extras (pip install .[train]): {exc}") from exc
    finally:
        runner.close(RANKING_STOP_S)


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
