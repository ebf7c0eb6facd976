"""Labels that differ only in case or Unicode form are said, never silently separate (issue 25, D21)."""

from __future__ import annotations

import numpy as np

from engine.datasets.manifest import read_manifest


def test_look_alike_labels_are_warned_about_naming_both(write_wav, tmp_path):
    rows = ["path,label,group"]
    labels = ["anger", "Anger", "sadness", "de\u0301tresse", "d\u00e9tresse", "anger"]
    for i, label in enumerate(labels):
        write_wav(f"ds/{i}.wav", np.full(800, 0.1, np.float32), 8000)
        rows.append(f"{i}.wav,{label},g{i % 3}")
    (tmp_path / "ds" / "data.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    manifest = read_manifest(tmp_path / "ds" / "data.csv", "csv")
    (warning,) = [w for w in manifest.warnings if w.code == "look-alike-labels"]
    assert "'Anger' (1 clips) / 'anger' (2 clips)" in warning.message
    assert "'de\\u0301tresse'" in warning.message and "'d\\xe9tresse'" in warning.message
    assert len(manifest.labels) == 5  # nothing merged behind the person's back


def test_distinct_labels_give_no_warning(write_wav, tmp_path):
    write_wav("ds/a.wav", np.full(800, 0.1, np.float32), 8000)
    write_wav("ds/b.wav", np.full(800, 0.1, np.float32), 8000)
    (tmp_path / "ds" / "data.csv").write_text("path,label,group\na.wav,anger,g1\nb.wav,angry,g2\n")
    assert not [w for w in read_manifest(tmp_path / "ds" / "data.csv", "csv").warnings
                if w.code == "look-alike-labels"]
