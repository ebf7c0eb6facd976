"""A data-preparation worker killed mid-build (the OOM killer) is a CacheError with the reason, never a
BrokenProcessPool traceback (issue 25, D17)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time

import pytest

import trainer.data.cache as cache_module
from engine.datasets.manifest import read_manifest
from engine.datasets.synth import write_esc50
from trainer.data.cache import CacheError, FeatureCache, FrontendConfig

CONFIG = FrontendConfig(sample_rate_hz=8000, clip_s=0.5, n_mels=16, n_fft=256)


@pytest.mark.timeout(90)
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_killed_preparation_worker_is_a_cache_error(tmp_path, monkeypatch):
    write_esc50(tmp_path / "esc", n_classes=2, clips_per_class=6, seconds=0.5, sample_rate_hz=8000)
    manifest = read_manifest(tmp_path / "esc")
    monkeypatch.setattr(cache_module, "CHUNK_CLIPS", 1)
    killed = []

    def kill_a_worker():
        deadline = time.monotonic() + 120
        while not killed and time.monotonic() < deadline:
            children = multiprocessing.active_children()
            if children:
                os.kill(children[0].pid, signal.SIGKILL)
                killed.append(children[0].pid)
            time.sleep(0.01)

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    try:
        with pytest.raises(CacheError, match="worker process died"):
            FeatureCache.build(manifest, frontend_config=CONFIG, variants=["gain"], out_dir=tmp_path / "c", workers=2)
    finally:
        killed.append("stop")
        killer.join(10)
    assert isinstance(killed[0], int)
