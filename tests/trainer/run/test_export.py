"""export_onnx: metadata inside the file, parity enforced, nothing written on failure."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import EarmarkError
from engine.models.classifier import OnnxClassifier
from engine.models.metadata import METADATA_KEY, build_metadata
from trainer.models import create_model
from trainer.models.frontend import Classifier, LogMel, WaveformModel
from trainer.run import export as export_module
from trainer.run.export import ExportError, export_onnx

SR = 8000
N_SAMPLES = 4000
LABELS = ["dog", "rain", "siren"]


def _clips(n: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    t = np.arange(N_SAMPLES) / SR
    freqs = rng.uniform(100, 3500, size=n)
    clips = 0.4 * np.sin(2 * np.pi * freqs[:, None] * t) + 0.05 * rng.standard_normal((n, N_SAMPLES))
    return torch.from_numpy(clips.astype(np.float32))


def _model(backbone: nn.Module | None = None) -> WaveformModel:
    torch.manual_seed(0)
    backbone = backbone or create_model("cnn", num_classes=len(LABELS))
    return WaveformModel(LogMel(SR, n_fft=256, hop_length=64, n_mels=32), Classifier(backbone, 1, (32, 32)))


def _metadata(**extra) -> dict:
    return build_metadata(labels=LABELS, sample_rate_hz=SR, clip_s=N_SAMPLES / SR, architecture="cnn",
                          task="esc50", seeds=[42], metrics={"accuracy": 0.5}, **extra)


def test_metadata_round_trips_through_onnx_and_onnxruntime(tmp_path):
    model, path = _model().eval(), tmp_path / "out" / "model.onnx"
    metadata = _metadata(input_size=[32, 32], n_mels=32)
    err = export_onnx(model, path, metadata=metadata, example=_clips(4))
    assert 0.0 <= err < 1e-4
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.onnx"]      # no temporary left

    proto = onnx.load(str(path))
    from_onnx = json.loads({p.key: p.value for p in proto.metadata_props}[METADATA_KEY])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    from_ort = json.loads(session.get_modelmeta().custom_metadata_map[METADATA_KEY])
    assert from_onnx == from_ort
    embedding = from_onnx["embedding"]
    assert from_onnx == {**metadata, "parity_max_abs_err": err, "parity_tolerance": 1e-4, "embedding": embedding}
    assert embedding["dim"] == 128 and 0.0 <= embedding["parity_max_rel_err"] < 1e-4   # the cnn's pooled features
    assert [i.name for i in session.get_inputs()] == ["waveform"]
    assert [o.name for o in session.get_outputs()] == ["probs", "embedding"]
    assert session.get_inputs()[0].shape[1] == N_SAMPLES
    assert proto.opset_import[0].version == 17
    assert any(node.op_type == "MatMul" for node in proto.graph.node)  # the factorised-DFT frontend
    assert not any(node.op_type == "STFT" for node in proto.graph.node)

    loaded = OnnxClassifier.load(path)               # the engine accepts it as is
    assert loaded.labels == LABELS and loaded.meta.raw["parity_max_abs_err"] == err
    clips = _clips(5, seed=3)                        # a batch size never seen at export
    with torch.no_grad():
        want = model(clips).numpy()
    np.testing.assert_allclose(loaded.predict(clips.numpy()), want, atol=1e-4, rtol=0)

    # the embedding is what the backbone's head receives: the head applied to it gives the logits
    probs, vectors = loaded.predict_and_embed(clips.numpy())
    assert vectors.shape == (5, 128) and loaded.embedding_dim == 128
    np.testing.assert_allclose(probs, want, atol=1e-4, rtol=0)
    with torch.no_grad():
        head = model.classifier.backbone.fc
        np.testing.assert_allclose(torch.softmax(head(torch.from_numpy(vectors)), -1).numpy(), want, atol=1e-4)
    np.testing.assert_allclose(loaded.embed(clips.numpy()), vectors)


def test_export_leaves_training_mode_as_it_was(tmp_path):
    model = _model()
    model.train()
    export_onnx(model, tmp_path / "m.onnx", metadata=_metadata(), example=_clips(2))
    assert model.training


class _NoisyHead(nn.Module):
    """Dropout that stays on in eval mode: PyTorch and ONNX Runtime draw different masks."""

    def __init__(self) -> None:
        super().__init__()
        self.body = create_model("cnn", num_classes=len(LABELS))

    def forward(self, x):
        return F.dropout(self.body(x) * 20.0, p=0.5, training=True)


def test_parity_failure_raises_and_writes_nothing(tmp_path):
    target = tmp_path / "model.onnx"
    with pytest.raises(ExportError, match="parity") as info:
        export_onnx(_model(_NoisyHead()), target, metadata=_metadata(), example=_clips(4))
    assert str(target) in str(info.value)
    assert isinstance(info.value, EarmarkError)
    assert list(tmp_path.iterdir()) == []


def test_parity_failure_keeps_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"previous model")
    real_run = export_module._run_onnxruntime

    def perturbed(*args, **kwargs):
        probs, embedding = real_run(*args, **kwargs)
        return probs + np.float32(2e-4), embedding

    monkeypatch.setattr(export_module, "_run_onnxruntime", perturbed)
    with pytest.raises(ExportError, match="2e-04|0.0002"):
        export_onnx(_model(), target, metadata=_metadata(), example=_clips(2))
    assert target.read_bytes() == b"previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]
    # The same perturbation passes under a looser tolerance, and the file is replaced.
    err = export_onnx(_model(), target, metadata=_metadata(), example=_clips(2), tolerance=1e-3)
    assert err == pytest.approx(2e-4, abs=1e-6)
    assert OnnxClassifier.load(target).meta.raw["parity_tolerance"] == 1e-3


def test_tolerance_zero_fails_when_any_difference_exists(tmp_path, monkeypatch):
    real_run = export_module._run_onnxruntime
    monkeypatch.setattr(export_module, "_run_onnxruntime",
                        lambda *a, **k: (np.nextafter(real_run(*a, **k)[0], np.float32(1)), real_run(*a, **k)[1]))
    with pytest.raises(ExportError):
        export_onnx(_model(), tmp_path / "m.onnx", metadata=_metadata(), example=_clips(2), tolerance=0.0)
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("metadata, message", [
    (dict(format_version=1, labels=["a", "b"], sample_rate_hz=SR, clip_s=0.5, architecture="cnn"), "3 outputs"),
    (dict(format_version=1, labels=LABELS, sample_rate_hz=SR, clip_s=1.0, architecture="cnn"), "4000 samples"),
    (dict(labels=LABELS, sample_rate_hz=SR, architecture="cnn"), "clip_s"),
])
def test_metadata_the_engine_would_refuse_is_refused(tmp_path, metadata, message):
    with pytest.raises(ExportError, match=message):
        export_onnx(_model(), tmp_path / "m.onnx", metadata=metadata, example=_clips(2))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("example", [torch.zeros(N_SAMPLES), torch.full((1, N_SAMPLES), float("nan"))])
def test_bad_examples_are_refused(tmp_path, example):
    with pytest.raises(ExportError, match="example"):
        export_onnx(_model(), tmp_path / "m.onnx", metadata=_metadata(), example=example)
    assert list(tmp_path.iterdir()) == []


def test_export_needs_neither_onnxscript_nor_audiomentations(tmp_path):
    """Both were declared and never used: a fresh interpreter that cannot import them still exports."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[3]
    code = f"""
import sys
sys.modules["onnxscript"] = None        # import onnxscript -> ImportError
sys.modules["audiomentations"] = None
import torch
from engine.models.metadata import build_metadata
from trainer.run.export import export_onnx
from trainer.models.frontend import Classifier, LogMel, WaveformModel
from trainer.models import create_model
model = WaveformModel(LogMel(8000, n_fft=256, n_mels=16), Classifier(create_model("cnn", num_classes=3), 1, (16, 16)))
meta = build_metadata(labels=["a", "b", "c"], sample_rate_hz=8000, clip_s=0.5, architecture="cnn", layout="waveform")
print(export_onnx(model.eval(), {str(tmp_path / "m.onnx")!r}, metadata=meta, example=torch.randn(2, 4000)))
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=240,
                          env={**os.environ, "PYTHONPATH": str(repo), "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert float(json.loads(proc.stdout.strip().splitlines()[-1])) < 1e-4
    assert (tmp_path / "m.onnx").stat().st_size > 0


def test_an_embedding_that_disagrees_with_pytorch_fails_the_parity_check(tmp_path, monkeypatch):
    real_run = export_module._run_onnxruntime

    def perturbed(*args, **kwargs):
        probs, embedding = real_run(*args, **kwargs)
        return probs, embedding + np.float32(0.01) * max(1.0, float(np.abs(embedding).max()))

    monkeypatch.setattr(export_module, "_run_onnxruntime", perturbed)
    with pytest.raises(ExportError, match="embedding"):
        export_onnx(_model(), tmp_path / "model.onnx", metadata=_metadata(), example=_clips(2))
    assert list(tmp_path.iterdir()) == []
