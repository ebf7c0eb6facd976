"""A tiny calibratable Earmark model (``onnx.helper``, no torch) and its numpy reference.

The graph treats a window's samples as log-mel decibels ``[n_mels, frames]``: ``band_moments``
are each band's mean and mean square over frames; the logits are the bands' means z-scored by
``band_stats`` (an overridable initializer whose stored value is the default) times a fixed
matrix.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from engine.audio.io import fit_length, window_starts
from engine.models.calibration import MOMENTS_NAME, STATS_NAME
from engine.models.metadata import INPUT_NAME, METADATA_KEY, OUTPUT_NAME, build_metadata

SR = 8000
N_MELS, FRAMES = 4, 100
N = N_MELS * FRAMES                  # 0.05 s windows
LABELS = ["calm", "loud", "sad"]
WEIGHTS = np.array([[1.0, -1.0, 0.5], [0.5, 1.0, -1.0], [-1.0, 0.5, 1.0], [0.2, 0.3, -0.4]], np.float32)
DEFAULT = np.array([[0.0, 0.1, -0.1, 0.05], [0.25, 0.25, 0.25, 0.25]], np.float32)


def write_calibratable_model(path: Path, *, moments_bands: int = N_MELS, nan_moments: bool = False,
                 with_stats: bool = True) -> Path:
    inits = [numpy_helper.from_array(np.array([-1, N_MELS, FRAMES], np.int64), "shape"),
             numpy_helper.from_array(WEIGHTS, "weights"),
             numpy_helper.from_array(np.array([1], np.int64), "one"),
             numpy_helper.from_array(np.array(0, np.int64), "row0"),
             numpy_helper.from_array(np.array(1, np.int64), "row1"),
             numpy_helper.from_array(np.array(np.nan if nan_moments else 1.0, np.float32), "scale")]
    stats = STATS_NAME if with_stats else "fixed_stats"
    inits.append(numpy_helper.from_array(DEFAULT, stats))
    nodes = [
        helper.make_node("Reshape", [INPUT_NAME, "shape"], ["x"]),
        helper.make_node("ReduceMean", ["x"], ["mean"], axes=[-1], keepdims=0),
        helper.make_node("Mul", ["x", "x"], ["sq"]),
        helper.make_node("ReduceMean", ["sq"], ["mean_sq"], axes=[-1], keepdims=0),
        helper.make_node("Unsqueeze", ["mean", "one"], ["m1"]),
        helper.make_node("Unsqueeze", ["mean_sq", "one"], ["m2"]),
        helper.make_node("Concat", ["m1", "m2"], ["both"], axis=1),
        helper.make_node("Mul", ["both", "scale"], ["moments_all"]),
        helper.make_node("Slice", ["moments_all", "zero_start", "bands_end", "two_axis"], [MOMENTS_NAME]),
        helper.make_node("Gather", [stats, "row0"], ["band_mean"], axis=0),
        helper.make_node("Gather", [stats, "row1"], ["band_std"], axis=0),
        helper.make_node("Sub", ["mean", "band_mean"], ["centred"]),
        helper.make_node("Div", ["centred", "band_std"], ["z"]),
        helper.make_node("MatMul", ["z", "weights"], ["logits"]),
        helper.make_node("Softmax", ["logits"], [OUTPUT_NAME], axis=-1),
    ]
    inits += [numpy_helper.from_array(np.array([0], np.int64), "zero_start"),
              numpy_helper.from_array(np.array([moments_bands], np.int64), "bands_end"),
              numpy_helper.from_array(np.array([2], np.int64), "two_axis")]
    inputs = [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", N])]
    if with_stats:   # a graph input with an initializer of its name: overridable, default stored
        inputs.append(helper.make_tensor_value_info(STATS_NAME, TensorProto.FLOAT, [2, N_MELS]))
    outputs = [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", len(LABELS)]),
               helper.make_tensor_value_info(MOMENTS_NAME, TensorProto.FLOAT, ["batch", 2, moments_bands])]
    graph = helper.make_graph(nodes, "calibratable", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="earmark-tests")
    model.ir_version = 8
    meta = build_metadata(labels=LABELS, sample_rate_hz=SR, clip_s=N / SR, architecture="band-means (test)",
                          band_norm={"scheme": "speaker", "n_mels": N_MELS})
    helper.set_model_props(model, {METADATA_KEY: json.dumps(meta)})
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def expected_probs(windows: np.ndarray, stats: np.ndarray) -> np.ndarray:
    means = windows.reshape(-1, N_MELS, FRAMES).astype(np.float64).mean(axis=-1)
    return softmax(((means - stats[0]) / stats[1]) @ WEIGHTS)


def windows_of(samples: np.ndarray) -> np.ndarray:
    return np.stack([fit_length(samples[s : s + N], N) for s in window_starts(len(samples), N, N // 2)])


def voiced_windows(clips, frame: int = SR // 100) -> np.ndarray:
    """What calibration pools from clips whose every frame is voiced (a steady level): each clip's
    whole 10 ms frames joined, cut into windows of N, the last piece (a quarter window or more,
    or the only one) filled by repeating itself."""
    joined = np.concatenate([c[: len(c) // frame * frame] for c in clips]).astype(np.float32)
    k = len(joined) // N
    windows = list(joined[: k * N].reshape(k, N))
    rest = joined[k * N :]
    if len(rest) and (not k or len(rest) >= N // 4):
        windows.append(np.resize(rest, N))
    return np.stack(windows)


def pooled_stats(clips) -> np.ndarray:
    x = voiced_windows(clips).reshape(-1, N_MELS, FRAMES).astype(np.float64)
    mean = x.mean(axis=(0, 2))
    std = np.sqrt((x * x).mean(axis=(0, 2)) - mean**2) + 1e-3
    return np.stack([mean, std])




# -- real clips: an EmoDB speaker and the shipped speaker-normalised model ----------------------

SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "models_onnx" / "emodb_vgg4.onnx"
EMODB_EMOTIONS = {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness",
                  "T": "sadness", "N": "neutral"}


def emodb_speaker(speaker: str = "03", rate_hz: int = 16000, limit: int | None = None):
    """``(clips, labels)``: one EmoDB speaker's 2 s clips at ``rate_hz``; pytest skips without the data."""
    import pytest

    from engine.audio.io import load_audio
    from tests.conftest import EMODB_2S

    files = sorted((EMODB_2S / "wav").glob(f"{speaker}*.wav"))[:limit]
    if not files or not SHIPPED_MODEL.is_file():
        pytest.skip(f"the real data set ({EMODB_2S}) or the shipped model is not here")
    return [load_audio(f, rate_hz).samples for f in files], [EMODB_EMOTIONS[f.name[5]] for f in files]


def pause(seconds: float, level_dbfs: float | None, rate_hz: int = 16000, seed: int = 0) -> np.ndarray:
    """A pause: digital silence (``level_dbfs`` None) or room noise at that RMS level."""
    n = int(round(seconds * rate_hz))
    if level_dbfs is None:
        return np.zeros(n, np.float32)
    return (10 ** (level_dbfs / 20) * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def correct(model, clips, labels) -> int:
    """How many clips ``model`` labels right (each clip's windows averaged, as ``classify``)."""
    return sum(model.labels[int(np.argmax(model.classify(c)))] == y for c, y in zip(clips, labels, strict=True))
