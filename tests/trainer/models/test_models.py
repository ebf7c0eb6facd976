"""The model registry: every backbone trains a step and exports with parity; names, weights, attention."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from engine.models.metadata import build_metadata
from trainer.models import (
    PretrainedWeightsError,
    create_attn,
    create_model,
    find_pretrained_weights,
    list_models,
    model_info,
)
from trainer.models.alexnet import AdaptiveAvgPool2d
from trainer.models.attention import CBAM, SE
from trainer.models.frontend import Classifier, LogMel, WaveformModel
from trainer.run.export import export_onnx

SR = 8000
N_SAMPLES = 4000          # 0.5 s
INPUT_SIZE = 32
EXPECTED = {"cnn", "alexnet", "resnet18", "resnet50", "resnet18_se", "resnet18_cbam", "resnet50_se",
            "resnet50_cbam", "efficientnet_b0", "mobilenetv3_small", "mobilenetv3_large", "vgg4", "plain_cnn"}

def _waveforms(n: int = 4, seed: int = 0) -> torch.Tensor:
    """Tones, a chirp and a burst over noise: real-ish clips that a model can tell apart."""
    rng = np.random.default_rng(seed)
    t = np.arange(N_SAMPLES) / SR
    clips = [0.5 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 1200 * t),
             0.3 * np.sin(2 * np.pi * 100 * t * (1 + 4 * t)), 0.4 * np.sin(2 * np.pi * 2500 * t) * (t < 0.25)]
    clips = [clips[i % len(clips)] for i in range(n)]
    return torch.from_numpy((np.stack(clips) + 0.05 * rng.standard_normal((n, N_SAMPLES))).astype(np.float32))


def _calibrate_batchnorm(module: nn.Module, inputs: torch.Tensor) -> None:
    """Running statistics := the statistics of ``inputs``, as after training, so eval outputs vary."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None                      # cumulative average: one pass gives the batch stats
    module.train()
    with torch.no_grad():
        module(inputs)
    for norm in norms:
        norm.momentum = 0.1


def _sharpen_head(classifier: nn.Module, logmel: torch.Tensor) -> None:
    """Centre and scale the last linear layer so logits spread by ~1 across ``logmel``.

    Random backbones give nearly equal probabilities for every input, where parity proves little.
    """
    head = [m for m in classifier.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        logits = classifier.eval()(logmel)
        centred = logits - logits.mean(dim=0)
        scale = min(max(1.0 / max(centred.abs().max().item(), 1e-6), 1.0), 1000.0)
        head.weight.mul_(scale)
        head.bias.sub_(logits.mean(dim=0)).mul_(scale)


def test_registry_has_every_documented_model():
    assert set(list_models()) == EXPECTED
    assert list_models() == sorted(list_models())
    assert model_info("cnn").default_in_chans == 1 == model_info("vgg4").default_in_chans == model_info("plain_cnn").default_in_chans
    assert all(model_info(n).default_in_chans == 3 for n in EXPECTED - {"cnn", "vgg4", "plain_cnn"})
    assert [n for n in list_models() if not model_info(n).has_pretrained] == ["cnn", "plain_cnn", "vgg4"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_backbone_trains_and_exports_with_parity(name, tmp_path):
    torch.manual_seed(0)
    backbone = create_model(name, num_classes=3)
    assert backbone.in_chans == model_info(name).default_in_chans
    size = max(INPUT_SIZE, model_info(name).min_input_size)
    frontend = LogMel(SR, n_fft=256, hop_length=64, n_mels=32)
    model = WaveformModel(frontend, Classifier(backbone, backbone.in_chans, (size, size)))
    waveforms, labels = _waveforms(4), torch.tensor([0, 1, 2, 0])
    with torch.no_grad():
        logmel = frontend(waveforms)

    model.classifier.train()
    optimizer = torch.optim.SGD(model.classifier.parameters(), lr=0.01)
    logits = model.classifier(logmel)
    assert logits.shape == (4, 3) and logits.dtype == torch.float32
    loss = F.cross_entropy(logits, labels)
    assert torch.isfinite(loss)
    head_before = [m for m in backbone.modules() if isinstance(m, nn.Linear)][-1].weight.detach().clone()
    optimizer.zero_grad()
    loss.backward()
    grads = [p.grad for p in model.classifier.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    optimizer.step()
    assert not torch.equal(head_before, [m for m in backbone.modules() if isinstance(m, nn.Linear)][-1].weight)

    others = _waveforms(3, seed=1)
    with torch.no_grad():
        calibration = torch.cat([logmel, frontend(others)])
    _calibrate_batchnorm(model.classifier, calibration)
    _sharpen_head(model.classifier, calibration)
    model.eval()
    path = tmp_path / f"{name}.onnx"
    meta = build_metadata(labels=["a", "b", "c"], sample_rate_hz=SR, clip_s=0.5, architecture=name)
    err = export_onnx(model, path, metadata=meta, example=waveforms)
    assert 0.0 <= err < 1e-4

    # Check independently of export_onnx, on a different batch size (the batch axis is dynamic).
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    got = session.run(["probs"], {"waveform": others.numpy()})[0]
    with torch.no_grad():
        want = model(others).numpy()
    assert got.shape == (3, 3)
    assert np.abs(got - want).max() < 1e-4
    assert want.std(axis=0).max() > 0.01, "outputs barely depend on the input: parity would prove little"
    path.unlink()                                   # AlexNet is 230 MB: do not keep it in tmp


def test_in_chans_can_be_overridden():
    model = create_model("resnet18", num_classes=2, in_chans=1)
    assert model.conv1.in_channels == 1
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 2)
    assert create_model("cnn", num_classes=5, in_chans=3)(torch.randn(1, 3, 32, 32)).shape == (1, 5)


def test_unknown_model_name_lists_the_valid_ones():
    with pytest.raises(ValueError) as info:
        create_model("resnet19", num_classes=3)
    for name in EXPECTED:
        assert name in str(info.value)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="num_classes"):
        create_model("cnn", num_classes=0)
    with pytest.raises(ValueError, match="in_chans"):
        create_model("cnn", num_classes=2, in_chans=0)


def test_pretrained_without_weights_names_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(PretrainedWeightsError) as info:
        create_model("resnet18", num_classes=3, pretrained=True)
    message = str(info.value)
    assert str(tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth") in message
    assert "weights_path" in message and "pretrained=False" in message
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(PretrainedWeightsError, match="resnet50-11ad3fa6.pth"):   # the cheap check, same message
        find_pretrained_weights("resnet50_cbam")
    missing = tmp_path / "nope.pth"
    with pytest.raises(PretrainedWeightsError, match=str(missing)):
        create_model("resnet18", num_classes=3, weights_path=missing)
    with pytest.raises(PretrainedWeightsError, match="no pretrained weights"):
        create_model("cnn", num_classes=3, pretrained=True)
    with pytest.raises(PretrainedWeightsError, match="no pretrained weights"):
        find_pretrained_weights("cnn")


def _imagenet_resnet18(path) -> dict:
    torch.manual_seed(1)
    state = torchvision.models.resnet18(weights=None).state_dict()
    torch.save(state, path)
    return state


def test_pretrained_loads_a_local_weights_file(tmp_path):
    state = _imagenet_resnet18(tmp_path / "r18.pth")
    model = create_model("resnet18", num_classes=3, weights_path=tmp_path / "r18.pth")
    torch.testing.assert_close(model.layer3[1].conv2.weight, state["layer3.1.conv2.weight"])
    torch.testing.assert_close(model.conv1.weight, state["conv1.weight"])
    assert model.fc.out_features == 3
    mono = create_model("resnet18", num_classes=3, in_chans=1, weights_path=tmp_path / "r18.pth")
    torch.testing.assert_close(mono.conv1.weight, state["conv1.weight"].sum(dim=1, keepdim=True))
    se = create_model("resnet18_se", num_classes=3, weights_path=tmp_path / "r18.pth")  # attention starts fresh
    torch.testing.assert_close(se.layer4[0].conv1.weight, state["layer4.0.conv1.weight"])


def test_pretrained_found_in_torchvisions_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    (tmp_path / "checkpoints").mkdir()
    state = _imagenet_resnet18(tmp_path / "checkpoints" / "resnet18-f37072fd.pth")
    assert find_pretrained_weights("resnet18_se") == tmp_path / "checkpoints" / "resnet18-f37072fd.pth"
    model = create_model("resnet18_cbam", num_classes=4, pretrained=True)
    torch.testing.assert_close(model.layer2[0].downsample[0].weight, state["layer2.0.downsample.0.weight"])


def test_weights_of_another_model_are_refused(tmp_path):
    torch.save(torchvision.models.mobilenet_v3_small(weights=None).state_dict(), tmp_path / "m.pth")
    with pytest.raises(PretrainedWeightsError, match="do not fit"):
        create_model("resnet18", num_classes=3, weights_path=tmp_path / "m.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(PretrainedWeightsError, match="junk.pth"):
        create_model("resnet18", num_classes=3, weights_path=tmp_path / "junk.pth")


@pytest.mark.parametrize("name, attn_type, count", [
    ("resnet18", None, 0), ("resnet18_se", SE, 8), ("resnet18_cbam", CBAM, 8),
    ("resnet50_se", SE, 16), ("resnet50_cbam", CBAM, 16),
])
def test_attention_sits_inside_every_residual_block(name, attn_type, count):
    model = create_model(name, num_classes=2)
    blocks = [b for layer in (model.layer1, model.layer2, model.layer3, model.layer4) for b in layer]
    found = [b.attn for b in blocks if attn_type is not None and isinstance(b.attn, attn_type)]
    assert len(blocks) == (8 if "18" in name else 16) and len(found) == count
    if attn_type is None:
        assert all(isinstance(b.attn, nn.Identity) for b in blocks)
        return
    model(torch.randn(2, 3, 32, 32)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in found[0].parameters() if p.requires_grad)


def test_attention_modules_keep_shape_and_gate():
    x = torch.randn(2, 32, 8, 8)
    for attn in ("se", "cbam", "SE"):
        module = create_attn(attn, 32)
        y = module(x)
        assert y.shape == x.shape and not torch.equal(y, x)
    assert isinstance(create_attn(None, 32), nn.Identity)
    with pytest.raises(ValueError, match="cbam"):
        create_attn("eca", 32)
    with pytest.raises(ValueError, match="se"):
        create_model("resnet18", num_classes=2, attn="eca")


@pytest.mark.parametrize("size", [1, 3, 6, 7, 12, 13])
def test_exportable_adaptive_pool_equals_pytorchs(size):
    x = torch.randn(2, 4, size, size + 2)
    torch.testing.assert_close(AdaptiveAvgPool2d((6, 6))(x), nn.AdaptiveAvgPool2d((6, 6))(x))
