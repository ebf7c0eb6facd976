"""engine.datasets.edits and engine.datasets.manifest no longer import each other, and a broken edits module is loud (issue 11)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grimp
import numpy as np

import engine.datasets.edits
import engine.datasets.manifest

REPO = Path(__file__).resolve().parents[3]


def test_edits_does_not_import_manifest_even_for_type_checking():
    graph = grimp.build_graph("engine")  # grimp counts imports under TYPE_CHECKING too
    assert graph.find_shortest_chain(importer="engine.datasets.edits", imported="engine.datasets.manifest") is None
    assert graph.find_shortest_chain(importer="engine.datasets.edits_file", imported="engine.datasets.manifest") is None
    assert graph.find_shortest_chain(importer="engine.datasets.clips", imported="engine.datasets.edits") is None


def test_the_public_names_stay_where_callers_import_them():
    from engine.datasets.clips import Clip, Manifest

    assert engine.datasets.manifest.Clip is Clip and engine.datasets.manifest.Manifest is Manifest
    for name in ("read_manifest", "detect_layout", "LAYOUTS", "EMODB_EMOTIONS", "ESC50_COLUMNS", "AUDIO_SUFFIXES"):
        assert hasattr(engine.datasets.manifest, name), name
    for name in ("LabelEdits", "Change", "ClipEdit", "DOUBTFUL", "REVIEWED", "EDITS_FILENAME", "clip_key",
                 "edits_path", "data_folder", "load_edits", "utc_now"):
        assert hasattr(engine.datasets.edits, name), name


BROKEN_EDITS = """
import sys
class Broken:
    def find_spec(self, name, path=None, target=None):
        if name == "engine.datasets.edits":
            raise ImportError("engine.datasets.edits is broken (a bug in the edits module)")
sys.meta_path.insert(0, Broken())
try:
    from engine.datasets.manifest import read_manifest
except ImportError as exc:
    print("import failed:", exc)
    sys.exit(0)
m = read_manifest(sys.argv[1], "folders")
print("labels:", sorted(c.label for c in m.clips))
sys.exit(1)
"""


def test_a_broken_edits_module_fails_loudly_instead_of_dropping_audited_labels(tmp_path, write_wav):
    from engine.datasets.edits import LabelEdits

    write_wav("data/dog/a.wav", np.zeros(800, np.float32), 8000)
    write_wav("data/cat/b.wav", np.zeros(800, np.float32), 8000)
    LabelEdits.open(tmp_path / "data").relabel("dog/a.wav", "cat")
    run = subprocess.run([sys.executable, "-c", BROKEN_EDITS, str(tmp_path / "data")], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert run.returncode == 0, f"audited labels silently dropped: {run.stdout}{run.stderr}"
    assert "engine.datasets.edits is broken" in run.stdout
