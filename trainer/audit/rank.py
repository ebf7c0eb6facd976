"""Suspects first: rank a data set's clips by how likely their label is wrong.

Out-of-fold class probabilities come either from a given ONNX model or from k-fold
cross-validation trained on the spot, with *grouped* folds (speaker, source file, group),
so every clip is judged by a model that saw neither it nor its group. cleanlab then ranks
the clips (``find_label_issues`` + ``get_label_quality_scores``, self-confidence), rather
than a hand-made score.

The on-the-spot model (:mod:`trainer.audit.ensemble`) is a soft vote of a logistic regression,
an RBF SVM and extremely randomised trees, with fixed defaults, on per-clip summary statistics
of the log-mel spectrogram (:mod:`trainer.audit.features`: band statistics, MFCC and delta
statistics, spectral contrast, flatness and centroid), z-scored per speaker. On a 2-core
laptop the whole audit of EmoDB's 439 two-second clips takes about 5 s, where
cross-validating a CNN would take many minutes — and the audit needs a model per fold.
``--model`` uses a trained ONNX model instead.

This module does not import torch (the app's audit worker imports it lazily); only
:func:`saliency` (Grad-CAM for a torch classifier, in :mod:`trainer.audit.saliency`) does,
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
from engine.audio.io import load_audio
from engine.datasets.edits import clip_key
from engine.datasets.manifest import Manifest
from engine.datasets.rankings import RankingViews
from engine.errors import ManifestError
from engine.jobs import Cancelled, Progress
from trainer.audit.features import (  # noqa: F401  (HOP_S, N_MELS, mel_centres_hz: public here too)
    FEATURE_RATE_HZ,
    HOP_S,
    N_MELS,
    log_mel,
    mel_centres_hz,
    speaker_normalise,
    summary_features,
)
from trainer.audit.saliency import occlusion_saliency, saliency  # noqa: F401  (public here too)

log = logging.getLogger(__name__)
SUSPECT_COLUMNS = ("rank", "path", "label", "predicted", "predicted_prob", "label_quality", "is_issue", "judged")


AuditProgress = Progress          # stages "features" | "folds" | "rank" | "done"
FEATURES_SHARE = 0.3              # the features' share of a cross-validated audit's time (EmoDB: ~0.25)


@dataclass
class AuditResult(RankingViews):
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
    # clips whose class no model heard in training (every clip of the class in one group, so in
    # its own fold): their low score says nothing about their label; ranked last, never issues
    unjudged: np.ndarray | None = None   # bool [n]
    unjudged_classes: tuple[str, ...] = ()

    @property
    def judged(self) -> np.ndarray:
        return np.ones(len(self.given), dtype=bool) if self.unjudged is None else ~self.unjudged

    def unjudged_note(self) -> str:
        """Why some classes were not judged ("" when all were)."""
        if not self.unjudged_classes:
            return ""
        names = ", ".join(self.unjudged_classes)
        return (f"not judged: {names} — every clip of {'this class' if len(self.unjudged_classes) == 1 else 'each'} "
                "comes from one source recording (group), so no fold's model heard the class in training; "
                "its clips are listed last, not as suspects")


    def rows(self) -> list[dict[str, Any]]:
        rows = []
        for rank, i in enumerate(self.order, start=1):
            p = int(self.predicted[i])
            rows.append({
                "rank": rank, "path": self.keys[i], "label": self.class_names[self.given[i]],
                "predicted": self.class_names[p], "predicted_prob": round(float(self.pred_probs[i, p]), 4),
                "label_quality": round(float(self.quality[i]), 4), "is_issue": bool(self.is_issue[i]),
                "judged": bool(self.judged[i]),
            })
        return rows


# ---- features (trainer.audit.features) ----------------------------------------------------------
def clip_features(manifest: Manifest, *, on_progress=None, cancel=None) -> np.ndarray:
    """Summary features of every clip, ``[n_clips, n_features]``."""
    rows = []
    total = len(manifest.clips)
    for i, clip in enumerate(manifest.clips):
        _check_cancel(cancel)
        audio = load_audio(clip.path, FEATURE_RATE_HZ)
        rows.append(summary_features(log_mel(audio.samples)))
        if on_progress and (i % 10 == 0 or i == total - 1):
            on_progress(AuditProgress("features", i + 1, total, f"features {i + 1}/{total}",
                                      fraction=FEATURES_SHARE * (i + 1) / total))
    return np.stack(rows)


# ---- out-of-fold probabilities ------------------------------------------------------------------
def _make_model(seed: int):
    """Logistic regression + RBF SVM + extra trees, probabilities averaged (:mod:`trainer.audit.ensemble`)."""
    from trainer.audit.ensemble import AuditEnsemble

    return AuditEnsemble(seed)


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


def unheard_in_training(given: np.ndarray, fold_of: np.ndarray) -> np.ndarray:
    """Per clip: its class has no clip in the other folds, so its fold's model never heard it."""
    out = np.zeros(len(given), dtype=bool)
    for fold in np.unique(fold_of):
        trained_on = set(given[fold_of != fold].tolist())
        here = fold_of == fold
        out[here] = [g not in trained_on for g in given[here].tolist()]
    return out


def cross_val_probs(x, given, n_classes, fold_of, seed, *, on_progress=None, cancel=None):
    """Out-of-fold probabilities ``[n, n_classes]`` and the model of each fold."""
    probs = np.zeros((len(given), n_classes))
    models = []
    n_folds = int(fold_of.max()) + 1
    for fold in range(n_folds):
        _check_cancel(cancel)
        train, test = fold_of != fold, fold_of == fold
        with threadpool_limits(1):  # tiny problem: BLAS threads only contend (40x slower when busy)
            model = _make_model(seed).fit(x[train], given[train], check=lambda: _check_cancel(cancel))
        p = np.full((int(test.sum()), n_classes), 1e-6)
        p[:, model.classes_] = model.predict_proba(x[test])  # classes absent from training stay ~0
        probs[test] = p / p.sum(axis=1, keepdims=True)
        models.append(model)
        if on_progress:
            on_progress(AuditProgress("folds", fold + 1, n_folds, f"fold {fold + 1}/{n_folds}",
                                      fraction=FEATURES_SHARE + (0.99 - FEATURES_SHARE) * (fold + 1) / n_folds))
    return probs, models


def onnx_probs(manifest: Manifest, model_path, *, on_progress=None, cancel=None) -> np.ndarray:
    """Probabilities from a trained ONNX model, columns reordered to ``manifest.labels``."""
    from engine.models.classifier import OnnxClassifier

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
            on_progress(AuditProgress("features", i + 1, len(manifest.clips), "model predictions",
                                      fraction=0.99 * (i + 1) / len(manifest.clips)))
    return np.stack(rows)


# ---- ranking ------------------------------------------------------------------------------------
def rank_label_issues(given: np.ndarray, pred_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cleanlab's verdict: (quality scores, is_issue mask, order most suspect first).

    The order is cleanlab's label quality score (self-confidence: the out-of-fold probability
    of the given label), lowest first, ties in manifest order. ``is_issue`` is
    ``find_label_issues``' verdict, which thresholds per class; it is reported, not used to
    reorder (putting every flagged clip first pushed confident mistakes in classes without
    flags below doubtful clips in flagged classes: recall at the top 10% of 5% flipped EmoDB
    labels 0.82 issues-first against 0.90 by quality, docs/AUDIT.md).

    cleanlab's own warnings (``May not flag all label issues in class 2, it has too few
    examples``) and prints are not the person's business on the command line: they go to
    the log (``trainer.audit.rank`` logger, debug level), never to stderr.
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
    return quality, is_issue, np.argsort(quality, kind="stable").astype(int)


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
        x, stats = speaker_normalise(x, [c.speaker for c in manifest.clips])
        fold_of = grouped_folds(given, [c.group for c in manifest.clips], folds, seed)
        pred_probs, models = cross_val_probs(x, given, len(class_names), fold_of, seed,
                                             on_progress=on_progress, cancel=cancel)
        source = (f"{int(fold_of.max()) + 1}-fold grouped cross-validation, logistic regression + RBF SVM + "
                  "extra trees on log-mel / MFCC statistics" + (", z-scored per speaker" if stats else ""))
    _check_cancel(cancel)
    quality, is_issue, order = rank_label_issues(given, pred_probs)
    unjudged = unheard_in_training(given, fold_of) if fold_of is not None else np.zeros(len(given), dtype=bool)
    if unjudged.any():
        is_issue = is_issue & ~unjudged
        order = np.concatenate([order[~unjudged[order]], order[unjudged[order]]])
    unjudged_classes = tuple(class_names[g] for g in sorted(set(given[unjudged].tolist())))
    if on_progress:
        on_progress(AuditProgress("done", 1, 1, f"{int(is_issue.sum())} likely label issues", fraction=1.0))
    keys = [clip_key(c.path, manifest.data_root) for c in manifest.clips]
    return AuditResult(manifest, keys, class_names, given, pred_probs, quality, is_issue, order, source,
                       fold_of, models, stats, unjudged, unjudged_classes)


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
