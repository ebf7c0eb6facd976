"""The recipe suite's development data sets and their outer splits, read without ``engine``.

Why a reader of its own: the suite must split every data set the same way for the recipe and
the plain baseline, by the group a real user's new data would differ in (a speaker, an
actor, an official fold, a source recording), and hand both methods the very same clip
paths. ``engine``'s module paths are moving, so the layouts are read here in a few lines
(the same rules as ``engine/manifest.py``: EmoDB names, ESC-50's meta CSV, a
``path,label,group,speaker`` CSV).

Each data set yields ``Clip`` rows and a list of outer splits; a split is the set of groups
held out for testing. ``quick`` uses only the first split.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SHARED = Path("/work/shared/data")
EMODB = {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness", "T": "sadness",
         "N": "neutral"}


@dataclass(frozen=True)
class Clip:
    path: str          # absolute
    label: str
    group: str         # what the outer split holds out
    speaker: str | None  # named only where the layout names speakers (the recipe then normalises per speaker)


@dataclass
class DataSet:
    name: str
    clips: list[Clip]
    splits: list[list[str]]   # each: the groups held out for testing
    by: str                   # what a group is, in words


def emodb(root: Path = SHARED / "emodb-2s") -> DataSet:
    clips = [Clip(str(p.resolve()), EMODB[p.name[5]], p.name[:2], p.name[:2])
             for p in sorted((root / "wav").glob("*.wav"))]
    # one male and one female speaker a pair, as scripts/recipe_sweep.py
    pairs = [["03", "08"], ["09", "10"], ["11", "14"], ["15", "16"]]
    return DataSet("emodb-2s", clips, pairs, "speaker (pairs)")


def _csv(root: Path, csv_name: str = "data.csv") -> list[Clip]:
    with open(root / csv_name, newline="") as f:
        return [Clip(str((root / r["path"]).resolve()), r["label"], r.get("group") or r["speaker"],
                     r.get("speaker") or None) for r in csv.DictReader(f)]


def ravdess(root: Path = SHARED / "ravdess-16") -> DataSet:
    clips = _csv(root)
    actors = sorted({c.group for c in clips}, key=lambda a: int("".join(ch for ch in a if ch.isdigit())))
    # four folds of four actors, two male (odd) and two female (even) each
    splits = [[actors[i] for i in (k, k + 1, k + 8, k + 9)] for k in (0, 2, 4, 6)]
    return DataSet("ravdess-16", clips, splits, "actor (4 a fold)")


def _esc_rows(root: Path) -> list[dict]:
    with open(root / "meta" / "esc50.csv", newline="") as f:
        return list(csv.DictReader(f))


def esc10(root: Path = SHARED / "esc10") -> DataSet:
    clips = [Clip(str((root / "audio" / r["filename"]).resolve()), r["category"], f"fold{r['fold']}", None)
             for r in _esc_rows(root)]
    return DataSet("esc10", clips, [[f"fold{k}"] for k in (1, 2, 3, 4)], "official fold")


def esc50_real(root: Path = SHARED / "esc50-real", k: int = 4) -> DataSet:
    from sklearn.model_selection import StratifiedGroupKFold

    rows = _esc_rows(root)
    clips = [Clip(str((root / "audio" / r["filename"]).resolve()), r["category"], r["src_file"], None) for r in rows]
    labels = [c.label for c in clips]
    groups = [c.group for c in clips]
    folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=0)
    splits = [sorted({groups[i] for i in test}) for _, test in folds.split(np.zeros(len(clips)), labels, groups)]
    return DataSet("esc50-real", clips, splits, "src_file (4 stratified group folds)")


def espeak_words(root: Path, mics: bool = False) -> DataSet:
    """Groups are speakers (voice+variant@speed); the outer splits hold out whole voices, so a test
    speaker's voice is never heard at another speed or variant in training. ``mics``: each speaker
    recorded through a channel of their own (``espeak_words.channel``)."""
    from scripts.recipe_suite.espeak_words import VOICES, build

    build(root, mics=mics)
    clips = _csv(root)
    splits = []
    for pair in (VOICES[0::3], VOICES[1::3], VOICES[2::3]):     # 3 folds of 2 voices
        splits.append(sorted({c.group for c in clips if c.group.split("+")[0] in pair}))
    return DataSet("espeak-mics" if mics else "espeak-words", clips, splits, "voice (2 a fold; 8 speakers)")


def load_all(scratch: Path) -> dict[str, callable]:
    return {"espeak-words": lambda: espeak_words(scratch / "data" / "espeak-words"),
            "espeak-mics": lambda: espeak_words(scratch / "data" / "espeak-mics", mics=True), "emodb-2s": emodb,
            "ravdess-16": ravdess, "esc10": esc10, "esc50-real": esc50_real}


def subsample(idx: list[int], clips: list[Clip], cap: int | None, seed: int) -> list[int]:
    """At most ``cap`` of the clips ``idx``, stratified by label (every label keeps a share)."""
    if cap is None or len(idx) <= cap:
        return list(idx)
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for i in idx:
        by_label.setdefault(clips[i].label, []).append(i)
    keep = []
    for label in sorted(by_label):
        members = by_label[label]
        n = max(2, round(cap * len(members) / len(idx)))
        keep += list(rng.choice(members, size=min(n, len(members)), replace=False))
    return sorted(int(i) for i in keep)
