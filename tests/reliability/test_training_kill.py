"""Training killed with SIGKILL mid-epoch resumes from its last checkpoint to the same result.

The trainer's own tests resume after a cooperative cancel
(``tests/trainer/run/test_job.py::test_resume_gives_the_same_weights_as_an_uninterrupted_run``);
here the process is killed outright, at a random training step after the first checkpoint,
as a power cut or the OOM killer would, and the resumed run must match an uninterrupted
run with the same seed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from engine.datasets.synth import write_emodb  # noqa: E402
from trainer.run.job import TrainRequest, run  # noqa: E402

pytestmark = pytest.mark.timeout(240)

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 2

CHILD = """
import os, signal, sys, torch
torch.set_num_threads(1)
from trainer.run.job import TrainRequest, run
data, out, cache, kill_at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
steps = []
def on_progress(p):
    if p.stage == "train" and p.epoch is not None and p.epoch >= 2:
        steps.append(p.step)
        if len(steps) >= kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no flush, no atexit
run(TrainRequest(data=data, out=out, cache_dir=cache, epochs=EPOCHS, seeds=(5,), batch_size=4, n_mels=16,
                workers=1, patience=10), on_progress=on_progress)
print("finished without being killed")
""".replace("EPOCHS", str(EPOCHS))


def config(data, out, cache, **kw) -> TrainRequest:
    base = {"epochs": EPOCHS, "seeds": (5,), "batch_size": 4, "n_mels": 16, "workers": 1, "patience": 10}
    return TrainRequest(data=str(data), out=str(out), cache_dir=str(cache), **{**base, **kw})


@pytest.mark.slow
def test_sigkill_mid_training_then_resume_matches_an_uninterrupted_run(tmp_path):
    torch.set_num_threads(1)
    data = write_emodb(tmp_path / "data", n_speakers=3, sentences_per_speaker=2, seconds=0.5, sample_rate_hz=8000)
    cache = tmp_path / "cache"
    run(config(data, tmp_path / "warm", cache, epochs=1))  # builds the feature cache once, for both runs
    killed = tmp_path / "killed"
    kill_at = 2  # the second training step of epoch 2: after epoch 1's checkpoint, mid-epoch
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(data), str(killed), str(cache), str(kill_at)],
                             cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    run(config(data, tmp_path / "straight", cache))  # meanwhile, on the other core
    out, err = child.communicate(timeout=180)
    assert child.returncode == -9, err[-2000:] + out[-500:]
    last = killed / "checkpoints" / "seed5" / "last.pt"
    assert torch.load(last, map_location="cpu", weights_only=True)["epoch"] >= 1

    run(config(data, killed, cache, resume=True))
    a = torch.load(tmp_path / "straight" / "checkpoints" / "seed5" / "last.pt", map_location="cpu", weights_only=True)
    b = torch.load(last, map_location="cpu", weights_only=True)
    assert a["epoch"] == b["epoch"] == EPOCHS
    for key, tensor in a["model"].items():
        torch.testing.assert_close(b["model"][key], tensor, rtol=0, atol=1e-6, msg=key)
    assert [h["val_loss"] for h in a["history"]] == pytest.approx([h["val_loss"] for h in b["history"]])
    assert (killed / "model.onnx").is_file() and (killed / "metrics.json").is_file()
