"""Grouped splits never put a group on both sides; the leakage audit refuses overlaps."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.datasets.manifest import EMODB_EMOTIONS, Clip, Manifest
from engine.errors import EarmarkError
from trainer.data.cache import CacheItem
from trainer.data.splits import LeakageError, grouped_split, kfold, leakage_audit

EMOTIONS = sorted(EMODB_EMOTIONS.values())


def esc50_manifest(n_classes: int = 4, clips_per_class: int = 10) -> Manifest:
    clips = []
    for target in range(n_classes):
        for i in range(clips_per_class):
            source = i // 2                       # two takes per source recording
            clips.append(Clip(Path(f"/d/audio/{1 + source % 5}-{target}{source}-{'AB'[i % 2]}-{target}.wav"),
                              label=f"class{target}", group=f"{target}{source:03d}", fold=1 + source % 5))
    return Manifest(Path("/d"), "esc50", clips, [f"class{t}" for t in range(n_classes)])


def emodb_manifest(speakers=("03", "08", "09", "10", "11", "12"), per_emotion: int = 2) -> Manifest:
    clips = [Clip(Path(f"/e/wav/{s}a0{k}{letter}a.wav"), label=label, group=s, speaker=s)
             for s in speakers for letter, label in EMODB_EMOTIONS.items() for k in range(per_emotion)]
    return Manifest(Path("/e"), "emodb", clips, EMOTIONS)


def _groups(manifest, indices):
    return {manifest.clips[i].group for i in indices}


def test_esc50_uses_the_last_official_fold_and_keeps_sources_together():
    m = esc50_manifest()
    split = grouped_split(m)
    assert split.strategy == "fold" and split.val_fold == 5
    assert {m.clips[i].fold for i in split.val} == {5}
    assert 5 not in {m.clips[i].fold for i in split.train}
    assert not _groups(m, split.train) & _groups(m, split.val)
    assert sorted(split.train + split.val) == list(range(len(m.clips)))
    assert leakage_audit([m.clips[i] for i in split.train], [m.clips[i] for i in split.val]).count == 0


def test_esc50_val_fold_can_be_chosen_and_must_exist():
    m = esc50_manifest()
    assert {m.clips[i].fold for i in grouped_split(m, val_fold=2).val} == {2}
    with pytest.raises(ValueError, match="fold 9"):
        grouped_split(m, val_fold=9)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_emodb_splits_by_speaker_with_every_emotion_in_validation(seed):
    m = emodb_manifest()
    split = grouped_split(m, val_fraction=0.2, seed=seed)
    assert split.strategy == "speaker"
    assert not _groups(m, split.train) & _groups(m, split.val)
    assert {m.clips[i].label for i in split.val} == set(EMOTIONS)
    assert split.describe()["val_speakers"] == sorted(_groups(m, split.val))
    assert grouped_split(m, val_fraction=0.2, seed=seed) == split            # seeded


def test_emodb_validation_speakers_can_be_given():
    m = emodb_manifest()
    split = grouped_split(m, val_groups=["08", "11"])
    assert split.val_groups == ("08", "11") and _groups(m, split.val) == {"08", "11"}
    with pytest.raises(ValueError, match="99"):
        grouped_split(m, val_groups=["99"])


def test_folder_layout_groups_by_file_stem_group():
    clips = [Clip(Path(f"/f/{label}/{label}{i}.wav"), label, group=f"{label}{i // 2}")
             for label in ("a", "b") for i in range(10)]
    m = Manifest(Path("/f"), "folders", clips, ["a", "b"])
    split = grouped_split(m, val_fraction=0.25, seed=3)
    assert split.strategy == "group" and split.val
    assert not _groups(m, split.train) & _groups(m, split.val)


def test_kfold_validates_each_clip_once_without_group_overlap():
    m = emodb_manifest()
    folds = kfold(m, 3, seed=0)
    assert len(folds) == 3
    seen = sorted(i for f in folds for i in f.val)
    assert seen == list(range(len(m.clips)))
    for f in folds:
        assert not _groups(m, f.train) & _groups(m, f.val)


def test_a_speaker_on_both_sides_is_refused_by_name():
    m = emodb_manifest()
    train = [c for c in m.clips if c.speaker != "09"] + [m.clips[0]]      # speaker 03 leaks
    val = [c for c in m.clips if c.speaker in ("09", "03")]
    report = leakage_audit(train, val)
    assert report.count > 0 and report.groups == ("03",)
    with pytest.raises(LeakageError, match="03") as info:
        report.raise_if_leaking()
    assert isinstance(info.value, EarmarkError)


def test_an_augmented_variant_of_a_validation_clip_in_training_is_refused():
    val = [CacheItem(0, 0, "original", "101", 0, "/d/audio/5-101-A-0.wav"),
           CacheItem(1, 0, "pitch_shift", "101", 0, "/d/audio/5-101-A-0.wav")]
    train = [CacheItem(2, 1, "original", "102", 1, "/d/audio/1-102-A-1.wav"),
             CacheItem(1, 0, "pitch_shift", "101", 0, "/d/audio/5-101-A-0.wav")]
    with pytest.raises(LeakageError, match="101"):
        leakage_audit(train, val).raise_if_leaking()
    assert leakage_audit(train[:1], val).ok


def test_a_shared_source_file_is_refused_even_under_another_group_name():
    train = [{"group": "g1", "path": "/d/x.wav"}]
    val = [{"group": "g2", "path": "/d/x.wav"}]
    report = leakage_audit(train, val)
    assert report.count == 2 and set(report.groups) == {"g1", "g2"}
    with pytest.raises(LeakageError, match="x.wav"):
        report.raise_if_leaking()


def test_one_group_cannot_be_split():
    clips = [Clip(Path(f"/f/{i}.wav"), "ab"[i % 2], group="same") for i in range(6)]
    with pytest.raises(ValueError, match="one group"):
        grouped_split(Manifest(Path("/f"), "folders", clips, ["a", "b"]))
