"""trainer.api is the service layer: light to import, one request with one set of defaults,
and previews drawn exactly as the training cache draws them."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.datasets.synth import write_emodb
from engine.jobs import Cancelled, CancelToken, Progress
from trainer import api
from trainer.run.resolve import loop_config

REPO = Path(__file__).resolve().parents[2]


def test_importing_the_api_loads_no_heavy_package():
    code = ("import json, sys; import trainer.api; "
            "print(json.dumps(sorted(m for m in ('torch', 'torchvision', 'sklearn', 'cleanlab', 'onnx', 'matplotlib',"
            " 'numpy') if m in sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_the_loop_and_the_request_share_their_defaults():
    from trainer.run.loop import LoopConfig

    request = api.TrainRequest(data="d", out="o")
    for f in dataclasses.fields(LoopConfig):
        if hasattr(request, f.name):
            assert getattr(request, f.name) == f.default, f.name
    assert loop_config(request) == LoopConfig()


def test_a_request_refuses_contradicting_settings():
    with pytest.raises(ValueError, match="folds must be >= 2"):
        api.TrainRequest(data="d", out="o", folds=1)
    with pytest.raises(ValueError, match="val_groups"):
        api.TrainRequest(data="d", out="o", folds=4, val_groups=("03",))
    with pytest.raises(ValueError, match="cv_by"):
        api.TrainRequest(data="d", out="o", folds=4, cv_by="speaker")


def test_a_request_names_what_differs_from_a_saved_config():
    saved = api.TrainRequest(data="d", out="o").to_json()
    assert api.TrainRequest(data="d", out="elsewhere", workers=4, resume=True).differences(saved) == []
    differ = api.TrainRequest(data="other", out="o", lr=0.01, seeds=(1,)).differences(saved)
    assert [line.split(":")[0] for line in differ] == ["data", "lr", "seeds"]


def test_render_variants_draws_what_the_cache_trains_on(tmp_path):
    from engine.datasets.manifest import read_manifest
    from trainer.data.prepare import prepare_clip

    data = write_emodb(tmp_path / "emo", n_speakers=2, sentences_per_speaker=1, seconds=0.5, sample_rate_hz=8000)
    clip = read_manifest(data).clips[3]
    variants = (("noise", {"snr_db": (10.0, 20.0)}), ("gain", {"db": (-6.0, 6.0)}))
    seen = api.render_variants(api.VariantsRequest(clip.path, 3, variants, seed=7, max_rate_hz=8000),
                               on_progress=lambda p: None, cancel=CancelToken())
    assert [v.name for v in seen] == ["original", "noise", "gain"] and {v.sample_rate_hz for v in seen} == {8000}
    cached = prepare_clip(str(clip.path), 3, 8000, 4000, variants, 7)
    for v, row in zip(seen, cached, strict=True):
        np.testing.assert_array_equal(v.samples, row)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        api.render_variants(api.VariantsRequest(clip.path, 3, variants), cancel=token)


def test_preview_split_reports_folds_with_the_leakage_audit(tmp_path):
    from engine.datasets.manifest import read_manifest

    data = write_emodb(tmp_path / "emo", n_speakers=4, sentences_per_speaker=1, seconds=0.3, sample_rate_hz=8000)
    manifest = read_manifest(data)
    report = api.preview_split(api.SplitRequest(manifest, mode="kfold", k=4))
    assert len(report["folds"]) == 4 and report["leakage_count"] == 0
    assert sorted(g for f in report["folds"] for g in f["test_groups"]) == sorted({c.group for c in manifest.clips})
    with pytest.raises(ValueError, match="groups"):
        api.preview_split(api.SplitRequest(manifest, mode="kfold", k=9))


def test_audit_is_a_job_with_progress_and_cancel(tmp_path):
    from engine.datasets.manifest import read_manifest

    data = write_emodb(tmp_path / "emo", n_speakers=3, sentences_per_speaker=1, seconds=0.3, sample_rate_hz=8000)
    manifest = read_manifest(data)
    seen: list[Progress] = []
    result = api.audit(api.AuditRequest(manifest, folds=3), on_progress=seen.append, cancel=CancelToken())
    assert len(result.order) == len(manifest.clips) and seen[-1].stage == "done"
    assert all(isinstance(p, Progress) for p in seen)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        api.audit(api.AuditRequest(manifest, folds=3), cancel=token)
    assert list(api.audit(api.AuditRequest(manifest, folds=3)).order) == list(result.order)  # deterministic
