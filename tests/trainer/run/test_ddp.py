"""`torchrun --nproc_per_node 2 main.py train` (gloo, CPU) writes what a single process writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import main
from engine.datasets.synth import write_esc50

REPO = Path(__file__).resolve().parents[3]
TORCHRUN = Path(sys.executable).parent / "torchrun"
TINY = ["--epochs", "2", "--seeds", "7", "--batch-size", "4", "--n-mels", "16", "--workers", "1"]


def _outputs(run_dir: Path) -> set[str]:
    return {str(p.relative_to(run_dir).parent if "tfevents" in p.name else p.relative_to(run_dir))
            for p in run_dir.rglob("*") if p.is_file()}


@pytest.mark.slow
@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun is not installed beside this Python")
def test_torchrun_two_processes_write_the_same_outputs(tmp_path, monkeypatch):
    data = write_esc50(tmp_path / "esc", n_classes=2, clips_per_class=6, seconds=0.5, sample_rate_hz=8000)
    monkeypatch.setenv("EARMARK_CACHE_DIR", str(tmp_path / "cache"))
    single = tmp_path / "single"
    assert main.main(["train", "--data", str(data), "--out", str(single), *TINY]) == 0

    ddp = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "EARMARK_CACHE_DIR": str(tmp_path / "cache_ddp")}
    proc = subprocess.run([str(TORCHRUN), "--standalone", "--nproc_per_node", "2", str(REPO / "main.py"),
                           "train", "--data", str(data), "--out", str(ddp), *TINY],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _outputs(ddp) == _outputs(single)
    assert proc.stdout.count("run folder:") == 1            # only rank 0 reports
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (single, ddp))
    assert a.keys() == b.keys() and a["split"] == b["split"] and b["leakage_count"] == 0
    assert len(b["per_seed"][0]["confusion_matrix"]) == 2
    assert [h for h in b["per_seed"]][0]["epochs_run"] == 2
