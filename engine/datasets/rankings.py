"""The audit ranking kept between runs of the app, keyed by the data set's content. Qt-free.

A ranking takes seconds to minutes; reopening the last data set at start shows its ranking
again without re-ranking when nothing it was computed from has changed. The key is a hash
over every clip's path relative to the data set, size, modification and change time, inode, label, flags,
group, fold and speaker (the folds follow the groups)
(the label edits included: the manifest *as edited* is what was ranked), plus the audit
model file (path, size, modification time) when one was used, and the folds and seed. A
changed data set has another key, so a stale ranking is never shown. Files are written
atomically (``engine.atomic``) under ``$EARMARK_CACHE_DIR/rankings`` or the user cache folder;
a damaged or foreign file is ignored with a log line.

What is kept is what the Audit tab shows (order, out-of-fold probabilities, given labels,
cleanlab's verdict and quality, folds); the fold models are not, so a restored ranking has
no occlusion saliency until the data set is ranked again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine import userdirs
from engine.atomic import atomic_write_json

log = logging.getLogger(__name__)
FORMAT = "earmark-audit-ranking"
VERSION = 1


def cache_dir() -> Path:
    return userdirs.cache_dir("rankings")


class RankingViews:
    """What a ranking shows, derived from its ``pred_probs`` and ``order``: shared by a fresh audit
    (``trainer.audit.rank.AuditResult``) and one restored from this cache."""

    pred_probs: np.ndarray
    order: np.ndarray

    @property
    def predicted(self) -> np.ndarray:
        return self.pred_probs.argmax(axis=1)

    def rank_of(self) -> np.ndarray:
        ranks = np.empty(len(self.order), dtype=int)
        ranks[self.order] = np.arange(1, len(self.order) + 1)
        return ranks


@dataclass
class RestoredRanking(RankingViews):
    """An ``AuditResult`` as the Audit tab reads it, from the cache (no fold models)."""

    keys: list[str]
    class_names: list[str]
    given: np.ndarray
    pred_probs: np.ndarray
    quality: np.ndarray
    is_issue: np.ndarray
    order: np.ndarray
    source: str
    fold_of: np.ndarray | None = None
    fold_models: list[Any] = field(default_factory=list)
    restored_from: Path | None = None



def content_key(manifest, model_path: str | os.PathLike | None = None, *, folds: int = 5, seed: int = 0) -> str:
    """A hash of everything a ranking depends on (see the module's docstring)."""
    digest = hashlib.sha256()
    root = Path(manifest.root)
    base = (root if root.is_dir() else root.parent).resolve()   # once: a resolve is an lstat per path component
    rows = []
    for clip in manifest.clips:
        path = Path(clip.path)
        try:  # the inode and change time too: a copy with its mtime kept (cp -p, rsync -a) changes them
            stat = path.stat()
            size, mtime = stat.st_size, [stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
        except OSError:
            size, mtime = -1, -1
        try:
            rel = path.resolve().relative_to(base).as_posix()
        except ValueError:
            rel = path.as_posix()
        rows.append([rel, size, mtime, clip.label, sorted(getattr(clip, "flags", ()) or ()),
                     clip.group, clip.fold, getattr(clip, "speaker", None)])  # the folds follow groups
    rows.sort()
    model = None
    if model_path:
        try:
            stat = Path(model_path).stat()
            model = [str(Path(model_path).resolve()), stat.st_size, stat.st_mtime_ns]
        except OSError:
            model = [str(model_path), -1, -1]
    text = json.dumps({"root": str(root.resolve()), "layout": manifest.layout, "clips": rows,
                       "labels": list(manifest.labels), "model": model, "folds": folds, "seed": seed})
    digest.update(text.encode("utf-8"))
    return digest.hexdigest()


def path_for(key: str, folder: Path | None = None) -> Path:
    return (folder or cache_dir()) / f"{key[:40]}.json"


def save(result, key: str, folder: Path | None = None) -> Path:
    """Write the ranking under its key, atomically."""
    fold_of = getattr(result, "fold_of", None)
    doc = {"format": FORMAT, "version": VERSION, "key": key, "keys": list(result.keys),
           "class_names": list(result.class_names), "given": np.asarray(result.given).astype(int).tolist(),
           "pred_probs": np.asarray(result.pred_probs, dtype=float).tolist(),
           "quality": np.asarray(result.quality, dtype=float).tolist(),
           "is_issue": np.asarray(result.is_issue).astype(bool).tolist(),
           "order": np.asarray(result.order).astype(int).tolist(), "source": str(result.source),
           "fold_of": None if fold_of is None else np.asarray(fold_of).astype(int).tolist()}
    path = path_for(key, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, doc)
    return path


def load(key: str, folder: Path | None = None) -> RestoredRanking | None:
    """The ranking kept under ``key``, or None (none kept; a damaged or foreign file: logged)."""
    path = path_for(key, folder)
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
            raise ValueError("not an Earmark audit ranking of this version")
        if doc.get("key") != key:
            raise ValueError("it belongs to another data set")
        keys = [str(k) for k in doc["keys"]]
        n, classes = len(keys), [str(c) for c in doc["class_names"]]
        ranking = RestoredRanking(
            keys=keys, class_names=classes, given=np.asarray(doc["given"], dtype=int),
            pred_probs=np.asarray(doc["pred_probs"], dtype=float), quality=np.asarray(doc["quality"], dtype=float),
            is_issue=np.asarray(doc["is_issue"], dtype=bool), order=np.asarray(doc["order"], dtype=int),
            source=str(doc["source"]),
            fold_of=None if doc.get("fold_of") is None else np.asarray(doc["fold_of"], dtype=int),
            restored_from=path)
        if (ranking.pred_probs.shape != (n, len(classes)) or ranking.given.shape != (n,)
                or ranking.quality.shape != (n,) or ranking.is_issue.shape != (n,)
                or sorted(ranking.order.tolist()) != list(range(n))):
            raise ValueError("its arrays do not fit together")
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:  # RecursionError: nested JSON
        log.warning("Ignoring the kept audit ranking %s: %s", path, str(exc)[:200])
        return None
    return ranking
