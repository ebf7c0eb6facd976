"""Suspects first: rank a data set's clips by how likely their label is wrong.

Out-of-fold class probabilities come either from a given ONNX model or from k-fold
cross-validation trained on the spot, with *grouped* folds (speaker, source file, group),
so every clip is judged by a model that saw neither it nor its group. cleanlab then ranks
the clips (``find_label_issues`` + ``get_label_quality_scores``, self-confidence), rather
than a hand-made score.

The on-the-spot model is a logistic regression on log-mel summary statistics (per band:
mean, std, 10th/50th/90th percentiles, mean |delta| over the voiced frames). On a 2-core
laptop the whole audit of EmoDB (535 clips) takes seconds, where cross-validating a CNN
would take many minutes — and the audit needs a model per fold. ``--model`` uses a trained
ONNX model instead.

This module does not import torch (the app's audit worker imports it lazily); only
:func:`saliency` (Grad-CAM for a torch classifier, in :mod:`trainer.audit_saliency`) does,
inside the function.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from engine.atomic import atomic_write_text
from engine.audio import load_audio
from engine.edits import clip_key
from engine.errors import ManifestError
from engine.jobs import Cancelled, Progress
from engine.manifest import Manifest
from trainer.audit_saliency import occlusion_saliency, saliency  # noqa: F401  (public here too)

log = logging.getLogger(__name__)
FEATURE_RATE_HZ = 16000
N_FFT = 512
HOP = 160  # 10 ms
N_MELS = 48
ACTIVE_DB = 50.0  # frames within this of the loudest frame count as voiced / active
PERCENTILES = (10, 50, 90)
SUSPECT_COLUMNS = ("rank", "path", "label", "predicted", "predicted_prob", "label_quality", "is_issue")


AuditCancelled = Cancelled        # the old name (engine.jobs' Cancelled is the one contract)
AuditProgress = Progress          # stages "features" | "folds" | "rank" | "done"


@dataclass
class AuditResult:
    """Out-of-fold probabilities and cleanlab's verdict for every clip (in manifest order)."""

    manifest: Manifest
    keys: list[str]
    class_names: list[str]
    given: np.ndarray  # int [n], index into class_names
    pred_probs: np.ndarray  # float [n, c], out of fold
    quality: np.ndarray  # float [n], cleanlab self-confidence (low = suspect)
    is_issue: np.ndarray  # bool [n], cleanlab.filter.find_label_issues
    order: np.ndarray  # int [n], most suspect first
    source: str  # how pred_probs were made
    fold_of: np.ndarray | None = None  # int [n], the fold a clip was judged in (CV only)
    fold_models: list[Any] = field(default_factory=list)
    speaker_stats: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def predicted(self) -> np.ndarray:
        return self.pred_probs.argmax(axis=1)

    def rank_of(self) -> np.ndarray:
        ranks = np.empty(len(self.order), dtype=int)
        ranks[self.order] = np.arange(1, len(self.order) + 1)
        return ranks

    def rows(self) -> list[dict[str, Any]]:
        rows = []
        for rank, i in enumerate(self.order, start=1):
            p = int(self.predicted[i])
            rows.append({
                "rank": rank, "path": self.keys[i], "label": self.class_names[self.given[i]],
                "predicted": self.class_names[p], "predicted_prob": round(float(self.pred_probs[i, p]), 4),
                "label_quality": round(float(self.quality[i]), 4), "is_issue": bool(self.is_issue[i]),
            })
        return rows


# ---- features ---------------------------------------------------------------------------------
def _mel_filterbank(sample_rate_hz: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular filters on the HTK mel scale, [n_mels, n_fft//2+1], area-normalised."""
    mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731
    hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)  # noqa: E731
    edges = hz(np.linspace(mel(30.0), mel(sample_rate_hz / 2), n_mels + 2))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate_hz)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rise = (freqs[None, :] - lower) / (centre - lower)
    fall = (upper - freqs[None, :]) / (upper - centre)
    bank = np.maximum(0.0, np.minimum(rise, fall))
    return (bank * (2.0 / (upper - lower))).astype(np.float32)


_BANK = _mel_filterbank(FEATURE_RATE_HZ, N_FFT, N_MELS)
HOP_S = HOP / FEATURE_RATE_HZ


def mel_centres_hz() -> np.ndarray:
    """Centre frequency of each log-mel band (for drawing a saliency map on a linear axis)."""
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / FEATURE_RATE_HZ)
    return (_BANK * freqs[None, :]).sum(axis=1) / _BANK.sum(axis=1)


def log_mel(samples: np.ndarray) -> np.ndarray:
    """Log-mel dB ``[N_MELS, frames]`` of 16 kHz audio (Hann, 32 ms window, 10 ms hop)."""
    x = np.pad(np.asarray(samples, dtype=np.float32), (N_FFT // 2, N_FFT // 2))
    x = np.pad(x, (0, max(0, N_FFT - len(x))))
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * np.hanning(N_FFT).astype(np.float32), axis=1)) ** 2
    return (10.0 * np.log10(_BANK @ power.T + 1e-10)).astype(np.float32)


def summary_features(logmel: np.ndarray) -> np.ndarray:
    """Per band over the active frames: mean, std, percentiles, mean |delta|; plus loudness stats."""
    energy = logmel.max(axis=0)
    active = energy >= energy.max() - ACTIVE_DB
    m = logmel[:, active] if active.sum() >= 2 else logmel
    delta = np.abs(np.diff(m, axis=1)).mean(axis=1) if m.shape[1] > 1 else np.zeros(len(m))
    e = energy[active] if active.sum() >= 2 else energy
    return np.concatenate([
        m.mean(axis=1), m.std(axis=1), *np.percentile(m, PERCENTILES, axis=1), delta,
        [e.mean(), e.std(), *np.percentile(e, PERCENTILES), active.mean()],
    ]).astype(np.float32)


def clip_features(manifest: Manifest, *, on_progress=None, cancel=None) -> np.ndarray:
    """Summary features of every clip, ``[n_clips, n_features]``."""
    rows = []
    total = len(manifest.clips)
    for i, clip in enumerate(manifest.clips):
        _check_cancel(cancel)
        audio = load_audio(clip.path, FEATURE_RATE_HZ)
        rows.append(summary_features(log_mel(audio.samples)))
        if on_progress and (i % 10 == 0 or i == total - 1):
            on_progress(AuditProgress("features", i + 1, total, f"features {i + 1}/{total}"))
    return np.stack(rows)


def _speaker_normalise(x: np.ndarray, speakers: list[str | None]) -> tuple[np.ndarray, dict]:
    """z-score features per speaker (no labels used), the usual step for speech emotion."""
    if not all(speakers) or len(set(speakers)) < 2:
        return x, {}
    out, stats = x.copy(), {}
    for speaker in sorted(set(speakers)):
        rows = np.array([s == speaker for s in speakers])
        mean, std = x[rows].mean(axis=0), x[rows].std(axis=0) + 1e-6
        out[rows] = (x[rows] - mean) / std
        stats[speaker] = (mean, std)
    return out, stats


# ---- out-of-fold probabilities ------------------------------------------------------------------
def _make_model(seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=0.02, max_iter=3000, random_state=seed))


def grouped_folds(given: np.ndarray, groups: list[str], n_folds: int, seed: int) -> np.ndarray:
    """Fold index per clip; a group never spans two folds, classes stratified where possible."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(set(groups))
    if n_groups < 2:
        raise ManifestError("cross-validation needs at least two groups (speakers, source files or stems)")
    k = max(2, min(n_folds, n_groups))
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    fold_of = np.empty(len(given), dtype=int)
    import warnings

    with warnings.catch_warnings():  # tiny classes: "least populated class has only n members"
        warnings.simplefilter("ignore", UserWarning)
        for fold, (_, test) in enumerate(splitter.split(np.zeros(len(given)), given, groups)):
            fold_of[test] = fold
    return fold_of


def cross_val_probs(x, given, n_classes, fold_of, seed, *, on_progress=None, cancel=None):
    """Out-of-fold probabilities ``[n, n_classes]`` and the model of each fold."""
    probs = np.zeros((len(given), n_classes))
    models = []
    n_folds = int(fold_of.max()) + 1
    for fold in range(n_folds):
        _check_cancel(cancel)
        train, test = fold_of != fold, fold_of == fold
        with threadpool_limits(1):  # tiny problem: BLAS threads only contend (40x slower when busy)
            model = _make_model(seed).fit(x[train], given[train])
        p = np.full((int(test.sum()), n_classes), 1e-6)
        p[:, model.classes_] = model.predict_proba(x[test])  # classes absent from training stay ~0
        probs[test] = p / p.sum(axis=1, keepdims=True)
        models.append(model)
        if on_progress:
            on_progress(AuditProgress("folds", fold + 1, n_folds, f"fold {fold + 1}/{n_folds}"))
    return probs, models


def onnx_probs(manifest: Manifest, model_path, *, on_progress=None, cancel=None) -> np.ndarray:
    """Probabilities from a trained ONNX model, columns reordered to ``manifest.labels``."""
    from engine.model import OnnxClassifier

    classifier = OnnxClassifier.load(model_path)
    missing = sorted(set(manifest.labels) - set(classifier.labels))
    if missing:
        raise ManifestError(
            f"{model_path}: the model does not know the data set's label(s) {', '.join(missing)}; "
            "audit with a model trained on these classes, or without --model"
        )
    columns = [classifier.labels.index(label) for label in manifest.labels]
    rows = []
    for i, clip in enumerate(manifest.clips):
        _check_cancel(cancel)
        samples = load_audio(clip.path, classifier.meta.sample_rate_hz).samples
        p = classifier.classify(samples)[columns]
        rows.append(p / max(float(p.sum()), 1e-9))
        if on_progress and (i % 10 == 0 or i == len(manifest.clips) - 1):
            on_progress(AuditProgress("features", i + 1, len(manifest.clips), "model predictions"))
    return np.stack(rows)


# ---- ranking ------------------------------------------------------------------------------------
def rank_label_issues(given: np.ndarray, pred_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cleanlab's verdict: (quality scores, is_issue mask, order most suspect first).

    cleanlab's own warnings (``May not flag all label issues in class 2, it has too few
    examples``) and prints are not the person's business on the command line: they go to
    the log (``trainer.audit`` logger, debug level), never to stderr.
    """
    import contextlib
    import warnings

    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(io.StringIO()) as printed:
        warnings.simplefilter("always")
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores

        quality = get_label_quality_scores(given, pred_probs, method="self_confidence")
        ranked = find_label_issues(given, pred_probs, return_indices_ranked_by="self_confidence")
    for warning in caught:
        log.debug("cleanlab: %s", warning.message)
    if printed.getvalue().strip():
        log.debug("cleanlab printed: %s", printed.getvalue().strip())
    is_issue = np.zeros(len(given), dtype=bool)
    is_issue[ranked] = True
    rest = np.setdiff1d(np.arange(len(given)), ranked)
    rest = rest[np.argsort(quality[rest], kind="stable")]
    return quality, is_issue, np.concatenate([np.asarray(ranked, dtype=int), rest]).astype(int)


def rank_suspects(manifest: Manifest, *, model_path=None, folds: int = 5, seed: int = 0,
                  on_progress: Callable[[AuditProgress], None] | None = None, cancel=None) -> AuditResult:
    """Rank ``manifest``'s clips, most suspect label first."""
    class_names = list(manifest.labels)
    given = np.array([class_names.index(c.label) for c in manifest.clips])
    if len(set(given.tolist())) < 2:
        raise ManifestError(f"{manifest.root}: an audit needs at least two classes with clips")
    fold_of, models, stats = None, [], {}
    if model_path is not None:
        pred_probs = onnx_probs(manifest, model_path, on_progress=on_progress, cancel=cancel)
        source = f"model {Path(model_path).name}"
    else:
        x = clip_features(manifest, on_progress=on_progress, cancel=cancel)
        x, stats = _speaker_normalise(x, [c.speaker for c in manifest.clips])
        fold_of = grouped_folds(given, [c.group for c in manifest.clips], folds, seed)
        pred_probs, models = cross_val_probs(x, given, len(class_names), fold_of, seed,
                                             on_progress=on_progress, cancel=cancel)
        source = f"{int(fold_of.max()) + 1}-fold grouped cross-validation, logistic regression on log-mel statistics"
    _check_cancel(cancel)
    quality, is_issue, order = rank_label_issues(given, pred_probs)
    if on_progress:
        on_progress(AuditProgress("done", 1, 1, f"{int(is_issue.sum())} likely label issues"))
    keys = [clip_key(c.path, manifest.data_root) for c in manifest.clips]
    return AuditResult(manifest, keys, class_names, given, pred_probs, quality, is_issue, order, source,
                       fold_of, models, stats)


def write_suspects(result: AuditResult, path) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUSPECT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(result.rows())
    atomic_write_text(path, buffer.getvalue())
    return Path(path)


# ---- why: saliency ------------------------------------------------------------------------------
def explain(result: AuditResult, index: int, target: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(log-mel, saliency) of clip ``index`` under the fold model that judged it (CV audits only)."""
    if not result.fold_models or result.fold_of is None:
        raise ValueError("explain() needs a cross-validated audit (no fold models with --model)")
    clip = result.manifest.clips[index]
    logmel = log_mel(load_audio(clip.path, FEATURE_RATE_HZ).samples)
    model = result.fold_models[int(result.fold_of[index])]
    target = int(result.predicted[index]) if target is None else target
    mean, std = result.speaker_stats.get(clip.speaker or "", (0.0, 1.0))
    column = list(model.classes_).index(target) if target in model.classes_ else None

    def score(batch: np.ndarray) -> np.ndarray:
        if column is None:
            return np.zeros(len(batch))
        x = (np.stack([summary_features(m) for m in batch]) - mean) / std
        return model.predict_proba(x)[:, column]

    return logmel, occlusion_saliency(score, logmel)


def _check_cancel(cancel) -> None:
    if cancel is None:
        return
    flag = cancel.is_set() if hasattr(cancel, "is_set") else getattr(cancel, "cancelled", False)
    if callable(flag):
        flag = flag()
    if flag:
        raise Cancelled("the audit was cancelled")
