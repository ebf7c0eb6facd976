"""The Audit tab's background jobs, in the ``engine.jobs`` contract (run by ``JobWorker``).

Ranking goes through ``trainer.api`` in a child process (``engine.jobs.process``): torch and
scikit-learn load there, never in the app's process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.audio.io import Audio, load_audio
from engine.audio.spectrogram import Spectrogram, SpectrogramSettings, spectrogram_with
from engine.errors import EarmarkError
from engine.jobs import CancelToken, Progress
from engine.jobs.process import ProcessRunner

MAX_CLIP_S = 600.0
MAX_SPECTROGRAM_COLUMNS = 4000   # a long clip's spectrogram is drawn with a longer hop than its overlap asks
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
    settings: SpectrogramSettings = SpectrogramSettings(512)


def clip_spectrogram(audio: Audio, settings: SpectrogramSettings) -> Spectrogram:
    return spectrogram_with(audio.samples, audio.sample_rate_hz, settings, max_columns=MAX_SPECTROGRAM_COLUMNS)


def load_clip_job(request: tuple, *, on_progress, cancel: CancelToken) -> LoadedClip:
    """Decode one clip and compute its display spectrogram (the GUI thread only draws them);
    ``request`` is ``(key, path)`` or ``(key, path, SpectrogramSettings)``."""
    key, path, *rest = request
    settings = rest[0] if rest else SpectrogramSettings(512)
    cancel.raise_if_cancelled("loading the clip")
    audio = load_audio(path, max_s=MAX_CLIP_S)
    cancel.raise_if_cancelled("loading the clip")
    return LoadedClip(key, audio, clip_spectrogram(audio, settings), settings)


def redraw_clip_job(request: tuple[str, Audio, SpectrogramSettings], *, on_progress, cancel: CancelToken) -> LoadedClip:
    """The loaded clip's spectrogram with other settings (FFT size, window, overlap)."""
    key, audio, settings = request
    cancel.raise_if_cancelled("drawing the spectrogram")
    return LoadedClip(key, audio, clip_spectrogram(audio, settings), settings)
