"""LogMel against librosa, its ONNX graph against PyTorch, and the Classifier's normalisation."""

from __future__ import annotations

import io
import warnings

import librosa
import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from engine.audio.mel import mel_filterbank
from trainer.models.frontend import Classifier, LogMel, WaveformModel

SR = 16000

def _chirp(seconds: float = 1.0, sample_rate_hz: int = SR, noise: float = 0.01, seed: int = 0) -> np.ndarray:
    """A 50 Hz -> 7 kHz chirp over a faint noise floor, so every mel band carries signal."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate_hz)) / sample_rate_hz
    sweep = librosa.chirp(fmin=50, fmax=7000, sr=sample_rate_hz, duration=seconds)[: len(t)]
    return (0.5 * sweep + noise * rng.standard_normal(len(t))).astype(np.float32)


def _librosa_db(y, *, n_fft, hop, n_mels, f_min=0.0, f_max=None, top_db=80.0):
    power = librosa.feature.melspectrogram(
        y=y.astype(np.float64), sr=SR, n_fft=n_fft, hop_length=hop, n_mels=n_mels, fmin=f_min, fmax=f_max,
        center=True, pad_mode="constant", power=2.0, htk=False, norm="slaney", window="hann",
    )
    return librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=top_db)


@pytest.mark.parametrize("sr, n_fft, n_mels, f_min, f_max", [
    (8000, 256, 32, 0.0, None), (16000, 1024, 64, 20.0, 7600.0), (22050, 2048, 128, 0.0, None),
])
def test_mel_filterbank_is_librosas_slaney_filterbank(sr, n_fft, n_mels, f_min, f_max):
    ours = mel_filterbank(sr, n_fft, n_mels, f_min, f_max)
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=f_min, fmax=f_max, htk=False, norm="slaney")
    assert ours.shape == ref.shape == (n_mels, n_fft // 2 + 1)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("n_fft, hop, n_mels, f_min, f_max", [(512, 128, 64, 0.0, None), (1024, 160, 40, 20.0, 7600.0)])
def test_logmel_matches_librosa_within_a_thousandth_of_a_db(n_fft, hop, n_mels, f_min, f_max):
    y = _chirp()
    frontend = LogMel(SR, n_fft=n_fft, hop_length=hop, n_mels=n_mels, f_min=f_min, f_max=f_max)
    ours = frontend(torch.from_numpy(y)[None])
    ref = _librosa_db(y, n_fft=n_fft, hop=hop, n_mels=n_mels, f_min=f_min, f_max=f_max)
    assert ours.shape == (1, 1, n_mels, frontend.n_frames(len(y))) and ours.shape[2:] == ref.shape
    unclamped = ref > ref.max() - 80.0 + 0.5          # where neither side hit the top_db floor
    assert unclamped.mean() > 0.9
    err = np.abs(ours[0, 0].numpy() - ref)[unclamped].max()
    assert err < 1e-3, f"LogMel differs from librosa by {err:.2e} dB"
    assert ours.max().item() == pytest.approx(ref.max(), abs=1e-3)


def test_top_db_floor_is_per_example():
    """A quiet clip keeps its own 80 dB range: scaling by 0.1 shifts it by exactly -20 dB."""
    loud = 100.0 * _chirp(0.5, noise=0.0)              # peak near +18 dB: floors stay above amin's -100 dB
    loud[len(loud) // 2 :] = 0.0                       # silence: the floor is reached
    batch = torch.from_numpy(np.stack([loud, 0.1 * loud]))
    db = LogMel(SR, n_fft=512, hop_length=128, n_mels=32, top_db=80.0)(batch)
    for example in db:
        assert example.min().item() == pytest.approx(example.max().item() - 80.0, abs=1e-4)
    torch.testing.assert_close(db[1], db[0] - 20.0, atol=2e-3, rtol=0)
    no_floor = LogMel(SR, n_fft=512, hop_length=128, n_mels=32, top_db=None)(batch)
    assert no_floor[0].min().item() < no_floor[0].max().item() - 80.0


def test_logmel_stays_float32_under_mixed_precision():
    frontend = LogMel(SR, n_fft=512, hop_length=128, n_mels=32)
    waveform = torch.from_numpy(100.0 * _chirp(0.5))[None]     # mel power far above float16's 65504
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        db = frontend(waveform)
    assert db.dtype == torch.float32 and torch.isfinite(db).all()
    torch.testing.assert_close(db, frontend(waveform))


def test_logmel_onnx_graph_matches_pytorch_within_1e4_db():
    """1e-4 dB within 40 dB of each clip's peak; float32 FFT rounding allows 1e-3 dB further down."""
    frontend = LogMel(SR, n_fft=512, hop_length=128, n_mels=64).eval()
    example = torch.from_numpy(np.stack([_chirp(1.0, seed=1), 0.1 * _chirp(1.0, seed=2)]))
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(frontend, (example,), buffer, dynamo=False, opset_version=17,
                          input_names=["waveform"], output_names=["logmel"],
                          dynamic_axes={"waveform": {0: "batch"}, "logmel": {0: "batch"}})
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    ops = {node.op_type for node in _graph_nodes(buffer.getvalue())}
    assert "MatMul" in ops and "STFT" not in ops    # exported as a factorised DFT
    batch3 = torch.from_numpy(np.stack([_chirp(1.0, seed=s) * (0.3 + s) for s in range(3)]))
    for waveforms in (example, batch3):                # the batch axis is dynamic
        got = session.run(None, {"waveform": waveforms.numpy()})[0]
        want = frontend(waveforms).numpy()
        assert got.shape == want.shape
        err = np.abs(got - want)
        near_peak = want > want.max(axis=(1, 2, 3), keepdims=True) - 40.0
        assert err[near_peak].max() < 1e-4 and err.max() < 1e-3


def _graph_nodes(model_bytes: bytes):
    import onnx

    return onnx.load_from_string(model_bytes).graph.node


def test_classifier_resizes_standardises_and_replicates():
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(x)
            return x.mean(dim=(2, 3))

    logmel = LogMel(SR, n_fft=512, hop_length=128, n_mels=32)(torch.from_numpy(_chirp(0.5))[None])
    clf = Classifier(Probe(), in_chans=3, input_size=(40, 24))
    out = clf(torch.cat([logmel, 5.0 * logmel + 30.0]))
    x = seen[0]
    assert x.shape == (2, 3, 40, 24) and out.shape == (2, 3)
    torch.testing.assert_close(x[:, 0], x[:, 2])
    for example in x:
        assert abs(example.mean().item()) < 1e-4 and example.std(unbiased=False).item() == pytest.approx(1, abs=1e-3)
    torch.testing.assert_close(x[0], x[1], atol=1e-4, rtol=0)   # gain and offset in dB are normalised away


def test_waveform_model_returns_probabilities():
    backbone = nn.Sequential(nn.Flatten(), nn.Linear(16 * 16, 4))
    model = WaveformModel(LogMel(8000, n_fft=256, hop_length=64, n_mels=32), Classifier(backbone, 1, (16, 16)))
    probs = model(torch.from_numpy(np.stack([_chirp(0.5, 8000, seed=s)[:4000] for s in range(3)])))
    assert probs.shape == (3, 4)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(3))
    assert (probs > 0).all()


@pytest.mark.parametrize("kwargs", [dict(sample_rate_hz=0), dict(sample_rate_hz=8000, n_mels=0),
                                    dict(sample_rate_hz=8000, f_max=5000.0), dict(sample_rate_hz=8000, f_min=4000.0)])
def test_logmel_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError):
        LogMel(**kwargs)


@pytest.mark.parametrize("n_fft, hop, factors", [
    (512, 128, (32, 16)), (1024, 256, (32, 32)), (400, 100, (20, 20)), (300, 75, (20, 15)),
    (400, 160, None), (257, 64, None),
], ids=["factorised-512", "factorised-1024", "factorised-400", "factorised-odd-n2", "conv-hop-does-not-divide",
        "conv-prime"])
def test_the_exported_dft_forms_equal_torch_stft(n_fft, hop, factors):
    """Both exported forms (factorised DFT, DFT-basis Conv1d) give torch.stft's mel power."""
    from trainer.models.frontend import _dft_factors

    assert _dft_factors(n_fft, hop) == factors
    frontend = LogMel(SR, n_fft=n_fft, hop_length=hop, n_mels=32).eval()
    waveforms = torch.from_numpy(np.stack([_chirp(1.0, seed=3), 0.01 * _chirp(1.0, seed=4)]))
    stft = torch.matmul(frontend.mel_fb, frontend._power_spectrogram(waveforms))
    dft = frontend._exported_mel_power(waveforms)
    assert dft.shape == stft.shape
    for got, want in zip(dft.numpy(), stft.numpy(), strict=True):  # each clip at its own level
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-6 * float(want.max()))
