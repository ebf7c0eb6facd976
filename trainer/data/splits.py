"""Grouped, stratified train/validation/test splits and the leakage audit.

A hold-out run splits three ways (:func:`three_way_split`): the test groups are set
aside first and influence nothing but the reported test figures; the validation groups,
drawn from the rest, choose the epoch and the seed; the model learns from the others.

Every clip belongs to a group that must never straddle the split: ESC-50's
``src_file`` (and its official fold), an EmoDB speaker, a CSV group column or a
file stem. Augmented variants inherit their source clip's group and path, so
the audit over cached items also catches a variant of a validation clip that
slipped into training.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import EarmarkError

STRATEGIES = ("auto", "fold", "speaker", "group")


class LeakageError(EarmarkError):
    """Training and validation share a group or a source file: the run is refused."""


@dataclass(frozen=True)
class Split:
    """Clip indices (into ``manifest.clips``) on each side, and how they were chosen."""

    train: tuple[int, ...]
    val: tuple[int, ...]
    strategy: str                      # "fold" | "speaker" | "group"
    val_groups: tuple[str, ...] = ()
    val_fold: int | None = None
    test: tuple[int, ...] = ()          # empty for a two-way split (and a refit on everything)
    test_groups: tuple[str, ...] = ()
    test_fold: int | None = None

    def sizes(self) -> dict[str, int]:
        sizes = {"train": len(self.train), "val": len(self.val)}
        if self.test:
            sizes["test"] = len(self.test)
        return sizes

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"strategy": self.strategy, "sizes": self.sizes(),
                               "val_groups": list(self.val_groups)}
        if self.val_fold is not None:
            out["val_fold"] = self.val_fold
        if self.test:
            out["test_groups"] = list(self.test_groups)
            if self.test_fold is not None:
                out["test_fold"] = self.test_fold
        if self.strategy == "speaker":
            out["val_speakers"] = list(self.val_groups)
        return out


@dataclass(frozen=True)
class LeakageReport:
    """``count`` items whose group or source path lies on both sides, or whose audio overlaps an
    item's on the other side (clips cut from one recording); ``groups`` names them, ``overlaps``
    describes the overlapping pairs."""

    count: int
    groups: tuple[str, ...] = ()
    paths: tuple[str, ...] = field(default=(), repr=False)
    overlaps: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.count == 0

    def raise_if_leaking(self) -> None:
        if self.count:
            shown = ", ".join(self.groups[:10]) + (" ..." if len(self.groups) > 10 else "")
            files = ", ".join(Path(p).name for p in self.paths[:5])
            overlapping = ""
            if self.overlaps:
                overlapping = (f"; {len(self.overlaps)} pair(s) of clips share audio of one recording, e.g. "
                               + "; ".join(self.overlaps[:3]) + " — group clips by recording or by time blocks")
            raise LeakageError(
                f"Leakage: {self.count} training/validation items share groups, source files or audio "
                f"(groups: {shown or '-'}; files: {files or '-'}{overlapping}). Every clip, and every variant "
                f"of it, must lie on one side only; choose other validation groups.")


def _get(item: Any, key: str, default: Any = ...) -> Any:
    if isinstance(item, dict):
        return item[key] if default is ... else item.get(key, default)
    return getattr(item, key) if default is ... else getattr(item, key, default)


def _span(item: Any) -> tuple[str, float, float] | None:
    source, start, end = (_get(item, k, None) for k in ("source", "start_s", "end_s"))
    return (str(source), float(start), float(end)) if source and start is not None and end is not None else None


def overlapping_audio(train_items: list[Any], val_items: list[Any]) -> list[tuple[Any, Any]]:
    """(train item, validation item) pairs cut from one recording whose spans share audio."""
    by_source: dict[str, list[tuple[float, float, Any]]] = {}
    for item in val_items:
        span = _span(item)
        if span is not None:
            by_source.setdefault(span[0], []).append((span[1], span[2], item))
    for spans in by_source.values():
        spans.sort(key=lambda s: s[0])
    pairs = []
    for item in train_items:
        span = _span(item)
        if span is None or span[0] not in by_source:
            continue
        _, start, end = span
        for other_start, other_end, other in by_source[span[0]]:
            if other_start >= end:
                break
            if other_end > start:   # touching spans share no sample
                pairs.append((item, other))
    return pairs


def leakage_audit(train_items: Iterable[Any], val_items: Iterable[Any]) -> LeakageReport:
    """Compare the groups and source paths of every item (variants included) across the split."""
    train_items, val_items = list(train_items), list(val_items)
    val_groups = {str(_get(i, "group")) for i in val_items}
    val_paths = {str(_get(i, "path")) for i in val_items}
    train_groups = {str(_get(i, "group")) for i in train_items}
    train_paths = {str(_get(i, "path")) for i in train_items}
    shared_groups, shared_paths = train_groups & val_groups, train_paths & val_paths
    pairs = overlapping_audio(train_items, val_items)
    overlapping = {id(x) for pair in pairs for x in pair}
    groups, paths, count = set(shared_groups), set(shared_paths), 0
    for item in (*train_items, *val_items):
        group, path = str(_get(item, "group")), str(_get(item, "path"))
        if group in shared_groups or path in shared_paths or id(item) in overlapping:
            count += 1
            groups.add(group)
    described = tuple(f"{Path(str(_get(a, 'path'))).name} ({a_span[1]:.2f}–{a_span[2]:.2f} s) and "
                      f"{Path(str(_get(b, 'path'))).name} ({b_span[1]:.2f}–{b_span[2]:.2f} s) of {a_span[0]}"
                      for a, b in pairs for a_span, b_span in [(_span(a), _span(b))])
    return LeakageReport(count=count, groups=tuple(sorted(groups)), paths=tuple(sorted(paths)), overlaps=described)


def _strategy_for(manifest, strategy: str, val_groups) -> str:
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown split strategy {strategy!r}; valid: {', '.join(STRATEGIES)}")
    if strategy != "auto":
        return strategy
    if manifest.layout == "emodb":
        return "speaker"
    has_folds = manifest.clips and all(c.fold is not None for c in manifest.clips)
    if has_folds and not val_groups and len({c.fold for c in manifest.clips}) > 1:
        return "fold"
    return "group"


def grouped_split(manifest, strategy: str = "auto", val_fraction: float = 0.2, seed: int = 0, *,
                  val_fold: int | None = None, val_groups: Sequence[str] | None = None) -> Split:
    """Split ``manifest`` into train/val with no group on both sides.

    ``fold``: validation is the official fold ``val_fold`` (default: the last fold).
    ``speaker``/``group``: validation groups are ``val_groups`` when given, else
    chosen by a seeded ``StratifiedGroupKFold`` so every class is represented when
    the groups allow it. ``auto`` picks fold for ESC-50/CSV folds, speaker for EmoDB.
    """
    if not manifest.clips:
        raise ValueError(f"{manifest.root}: the data set has no clips to split")
    strategy = _strategy_for(manifest, strategy, val_groups)
    if strategy == "fold":
        return _fold_split(manifest, val_fold)
    if val_groups:
        return _explicit_group_split(manifest, strategy, val_groups)
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction}")
    folds = _group_folds(manifest, max(2, round(1.0 / val_fraction)), seed)
    best = max(folds, key=lambda val: _fold_score(manifest, val, val_fraction))
    return _from_val_indices(manifest, best, strategy)


def kfold(manifest, k: int, seed: int = 0) -> list[Split]:
    """``k`` grouped, stratified folds for cross-validation (each clip validated once)."""
    if k < 2:
        raise ValueError(f"k must be >= 2, got {k}")
    n_groups = len({c.group for c in manifest.clips})
    if n_groups < k:
        raise ValueError(f"{manifest.root}: {n_groups} groups cannot make {k} grouped folds")
    return [_from_val_indices(manifest, val, "group") for val in _group_folds(manifest, k, seed)]


def _fold_split(manifest, val_fold: int | None) -> Split:
    folds = sorted({c.fold for c in manifest.clips if c.fold is not None})
    if not folds:
        raise ValueError(f"{manifest.root}: the data set has no folds; use a group split")
    if val_fold is None:
        val_fold = folds[-1]
    if val_fold not in folds:
        raise ValueError(f"validation fold {val_fold} is not in the data set (folds: {folds})")
    val = tuple(i for i, c in enumerate(manifest.clips) if c.fold == val_fold)
    train = tuple(i for i, c in enumerate(manifest.clips) if c.fold != val_fold)
    groups = tuple(sorted({manifest.clips[i].group for i in val}))
    return Split(train=train, val=val, strategy="fold", val_groups=groups, val_fold=val_fold)


def _explicit_group_split(manifest, strategy: str, val_groups: Sequence[str]) -> Split:
    known = {c.group for c in manifest.clips}
    unknown = sorted(set(val_groups) - known)
    if unknown:
        raise ValueError(f"validation groups not in {manifest.root}: {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(known)[:20])})")
    chosen = set(val_groups)
    val = [i for i, c in enumerate(manifest.clips) if c.group in chosen]
    if len(val) == len(manifest.clips):
        raise ValueError("the validation groups cover every clip; nothing is left to train on")
    return _from_val_indices(manifest, val, strategy)


def _from_val_indices(manifest, val: Iterable[int], strategy: str) -> Split:
    val_set = set(int(i) for i in val)
    train = tuple(i for i in range(len(manifest.clips)) if i not in val_set)
    groups = tuple(sorted({manifest.clips[i].group for i in val_set}))
    return Split(train=train, val=tuple(sorted(val_set)), strategy=strategy, val_groups=groups)


def _group_folds(manifest, k: int, seed: int) -> list[np.ndarray]:
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    labels = np.array([c.label for c in manifest.clips])
    groups = np.array([c.group for c in manifest.clips])
    n_groups = len(set(groups.tolist()))
    if n_groups < 2:
        raise ValueError(f"{manifest.root}: all clips share one group ({groups[0]}); a grouped "
                         "split needs at least two groups (or give a fold/group column)")
    k = min(k, n_groups)
    x = np.zeros(len(labels))
    if min(Counter(labels.tolist()).values()) >= k:
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        return [val for _, val in splitter.split(x, labels, groups)]
    # too few clips in some class to stratify: grouped folds over a seeded group order
    order = np.random.default_rng(seed).permutation(sorted(set(groups.tolist())))
    rank = {g: i for i, g in enumerate(order)}
    remapped = np.array([rank[g] for g in groups])
    return [val for _, val in GroupKFold(n_splits=k).split(x, labels, remapped)]


def _fold_score(manifest, val: np.ndarray, val_fraction: float) -> tuple[float, float]:
    """Prefer folds covering more classes, then a size close to ``val_fraction``."""
    classes = {manifest.clips[i].label for i in val}
    size_error = abs(len(val) / len(manifest.clips) - val_fraction)
    return (len(classes), -size_error)


# A validation or test side smaller than this share of the clips (or than MIN_EVAL_CLIPS)
# measures nothing: an ESC-50 folder holding mostly one fold was "validated" on 2 of 414 clips.
MIN_EVAL_SHARE = 0.03
MIN_EVAL_CLIPS = 1


class SplitTooSmall(EarmarkError, ValueError):
    """The data set has too few groups (or clips on one side) for an honest split."""


def three_way_split(manifest, strategy: str = "auto", *, test_fraction: float = 0.2, val_fraction: float = 0.2,
                    seed: int = 0, test_groups: Sequence[str] | None = None, test_fold: int | None = None,
                    val_groups: Sequence[str] | None = None, val_fold: int | None = None) -> Split:
    """Train / validation / test with no group on two sides.

    The test side is chosen first and from the groups alone (``test_groups``, the official
    fold ``test_fold`` — by default the last — or a seeded stratified group fold of about
    ``test_fraction``); validation is then drawn from the remaining groups (``val_groups``,
    ``val_fold``, or about ``val_fraction`` of what is left). Raises :class:`SplitTooSmall`
    when the groups cannot make three honest sides.
    """
    if not manifest.clips:
        raise ValueError(f"{manifest.root}: the data set has no clips to split")
    strategy = _strategy_for(manifest, strategy, val_groups or test_groups)
    n_groups = len({c.group for c in manifest.clips})
    if n_groups < 3:
        raise SplitTooSmall(
            f"{manifest.root}: {n_groups} group(s) of clips ({_group_word(strategy)}); an honest run needs at "
            "least three (one to train on, one to choose the epoch, one to test), and a few more to mean much. "
            "Add recordings from more speakers or sources, or give a group column.")
    everything = list(range(len(manifest.clips)))
    if strategy == "fold" and not test_groups:
        test = _fold_members(manifest, test_fold)
        test_fold = manifest.clips[test[0]].fold
    else:
        test = _choose_side(manifest, everything, test_groups, test_fraction, seed, "test")
        test_fold = None
    rest = [i for i in everything if i not in set(test)]
    if strategy == "fold" and val_fold is not None:
        val = [i for i in _fold_members(manifest, val_fold) if i in set(rest)]
    else:
        share = val_fraction if val_groups else min(0.5, val_fraction / max(1e-9, 1.0 - test_fraction))
        val = _choose_side(manifest, rest, val_groups, share, seed + 1, "validation")
    train = tuple(i for i in rest if i not in set(val))
    split = Split(train=train, val=tuple(sorted(val)), strategy=strategy,
                  val_groups=tuple(sorted({manifest.clips[i].group for i in val})), val_fold=val_fold,
                  test=tuple(sorted(test)), test_groups=tuple(sorted({manifest.clips[i].group for i in test})),
                  test_fold=test_fold)
    clips = manifest.clips
    for a, b in ((split.train, split.val), (split.train, split.test), (split.val, split.test)):
        leakage_audit([clips[i] for i in a], [clips[i] for i in b]).raise_if_leaking()   # folds can share groups
    _check_sides(manifest, split)
    return split


def refit_split(manifest, *, test_groups: Sequence[str] | None = None, test_fold: int | None = None) -> Split:
    """Train on every clip but the test side, with no validation side: a refit for an epoch count
    another run's validation side chose. Without a test side it is the refit on everything that
    ships; with one, a cross-validation fold's refit, so that the pooled figures measure the very
    procedure that makes the shipped model (choose on validation, then refit on all but the test)."""
    clips = manifest.clips
    if test_fold is not None:
        test = _fold_members(manifest, test_fold)
    elif test_groups:
        chosen = set(map(str, test_groups))
        test = [i for i, c in enumerate(clips) if c.group in chosen]
        if not test:
            raise ValueError(f"{manifest.root}: the refit's test groups {sorted(chosen)} hold no clip")
    else:
        test = []
    held = set(test)
    return Split(train=tuple(i for i in range(len(clips)) if i not in held), val=(), strategy="refit",
                 test=tuple(test), test_groups=tuple(sorted({clips[i].group for i in test})), test_fold=test_fold)


def nested_folds(manifest, k: int, *, by: str = "group", val_fraction: float = 0.2, seed: int = 0) -> list[Split]:
    """Outer folds for nested cross-validation: each fold's test side is one of ``k`` grouped
    folds (or one official fold, ``by="fold"``), untouched by anything else in its run; its
    validation side is drawn from the other folds' groups. Every clip is tested exactly once."""
    if by == "fold":
        folds = sorted({c.fold for c in manifest.clips if c.fold is not None})
        if len(folds) < 3:
            raise SplitTooSmall(f"{manifest.root}: {len(folds)} official fold(s); nested cross-validation by fold "
                                "needs at least three")
        return [three_way_split(manifest, "fold", test_fold=f, val_fraction=val_fraction, seed=seed) for f in folds]
    if k < 2:
        raise ValueError(f"k must be >= 2, got {k}")
    n_groups = len({c.group for c in manifest.clips})
    if n_groups < max(3, k):
        raise SplitTooSmall(f"{manifest.root}: {n_groups} groups cannot make {k} grouped folds with a validation "
                            "side in each (nested cross-validation needs k groups and at least three)")
    strategy = _strategy_for(manifest, "auto", None)
    strategy = "group" if strategy == "fold" else strategy
    splits = []
    for test in _group_folds(manifest, k, seed):
        groups = sorted({manifest.clips[i].group for i in test})
        splits.append(three_way_split(manifest, strategy, test_groups=groups, val_fraction=val_fraction, seed=seed))
    return splits


def _group_word(strategy: str) -> str:
    return {"speaker": "speakers", "fold": "folds"}.get(strategy, "groups")


def _fold_members(manifest, fold: int | None) -> list[int]:
    folds = sorted({c.fold for c in manifest.clips if c.fold is not None})
    if not folds:
        raise ValueError(f"{manifest.root}: the data set has no folds; use a group split")
    fold = folds[-1] if fold is None else fold
    if fold not in folds:
        raise ValueError(f"fold {fold} is not in the data set (folds: {folds})")
    return [i for i, c in enumerate(manifest.clips) if c.fold == fold]


def _choose_side(manifest, candidates: list[int], groups: Sequence[str] | None, fraction: float, seed: int,
                 side: str) -> list[int]:
    """The clips (indices into ``manifest.clips``) of one side, drawn from ``candidates``."""
    if groups:
        known = {manifest.clips[i].group for i in candidates}
        unknown = sorted(set(map(str, groups)) - known)
        if unknown:
            raise ValueError(f"{side} groups not in {manifest.root} (or already on another side): "
                             f"{', '.join(unknown)} (available: {', '.join(sorted(known)[:20])})")
        chosen = set(map(str, groups))
        return [i for i in candidates if manifest.clips[i].group in chosen]
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"the {side} fraction must lie strictly between 0 and 1, got {fraction}")
    sub = manifest.with_clips([manifest.clips[i] for i in candidates])
    if len({c.group for c in sub.clips}) < 2:
        raise SplitTooSmall(f"{manifest.root}: no group is left to make a {side} side from")
    folds = _group_folds(sub, max(2, round(1.0 / fraction)), seed)
    best = max(folds, key=lambda val: _fold_score(sub, val, fraction))
    return [candidates[int(i)] for i in best]


def _check_sides(manifest, split: Split) -> None:
    n = len(manifest.clips)
    least = max(MIN_EVAL_CLIPS, int(MIN_EVAL_SHARE * n + 0.999))
    for name, side in (("training", split.train), ("validation", split.val), ("test", split.test)):
        if len(side) < (1 if name == "training" else least):
            raise SplitTooSmall(
                f"{manifest.root}: the {name} side would hold {len(side)} of {n} clips "
                f"(validation and test need at least {least}); the groups are too uneven or too few for an "
                "honest split. Choose other test/validation groups or folds, or add data.")
