"""Calibratable models: a speaker's band statistics fed to the graph, pooled from its own audio.

The fixture graph (``onnx.helper``, no torch) treats a window's samples as log-mel decibels
``[n_mels, frames]``: ``band_moments`` are each band's mean and mean square over frames; the
logits are the bands' means z-scored by ``band_stats`` (an overridable initializer whose stored
value is the default) times a fixed matrix.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import soundfile as sf
from onnx import TensorProto, helper, numpy_helper

from engine.audio import fit_length, window_starts
from engine.band_norm import MOMENTS_NAME, STATS_NAME
from engine.errors import ModelLoadError
from engine.model import INPUT_NAME, METADATA_KEY, OUTPUT_NAME, OnnxClassifier, build_metadata
from tests.helpers_onnx import write_tone_model

ROOT = Path(__file__).resolve().parents[2]
SR = 8000
N_MELS, FRAMES = 4, 100
N = N_MELS * FRAMES                  # 0.05 s windows
LABELS = ["calm", "loud", "sad"]
WEIGHTS = np.array([[1.0, -1.0, 0.5], [0.5, 1.0, -1.0], [-1.0, 0.5, 1.0], [0.2, 0.3, -0.4]], np.float32)
DEFAULT = np.array([[0.0, 0.1, -0.1, 0.05], [0.3, 0.3, 0.3, 0.3]], np.float32)


def _write_model(path: Path, *, moments_bands: int = N_MELS, nan_moments: bool = False,
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


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _expected(windows: np.ndarray, stats: np.ndarray) -> np.ndarray:
    means = windows.reshape(-1, N_MELS, FRAMES).astype(np.float64).mean(axis=-1)
    return _softmax(((means - stats[0]) / stats[1]) @ WEIGHTS)


def _windows(samples: np.ndarray) -> np.ndarray:
    return np.stack([fit_length(samples[s : s + N], N) for s in window_starts(len(samples), N, N // 2)])


def _pooled_stats(clips) -> np.ndarray:
    x = np.concatenate([_windows(c) for c in clips]).reshape(-1, N_MELS, FRAMES).astype(np.float64)
    mean = x.mean(axis=(0, 2))
    std = np.sqrt((x * x).mean(axis=(0, 2)) - mean**2) + 1e-3
    return np.stack([mean, std])


def _speaker(seed: int, offset: float):
    rng = np.random.default_rng(seed)
    long = (offset + 0.2 * rng.standard_normal(int(2.5 * N))).astype(np.float32)   # 2.5 windows
    short = (offset + 0.2 * rng.standard_normal(N // 3)).astype(np.float32)        # padded
    return [long, short]


def test_a_calibrated_model_uses_the_speakers_pooled_statistics(tmp_path):
    model = OnnxClassifier.load(_write_model(tmp_path / "cal.onnx"), threads=1)   # through the sandbox
    assert model.calibratable and model.n_bands == N_MELS and model.calibration is None
    clips = _speaker(1, offset=0.3)
    window = _windows(clips[0])
    np.testing.assert_allclose(model.predict(window), _expected(window, DEFAULT), atol=1e-5)

    stats = model.calibrate(clips)
    np.testing.assert_allclose(stats, _pooled_stats(clips), rtol=1e-4, atol=1e-5)
    model.set_calibration(stats)
    calibrated = model.predict(window)
    np.testing.assert_allclose(calibrated, _expected(window, stats), atol=1e-5)
    assert np.abs(calibrated - _expected(window, DEFAULT)).max() > 0.05
    model.set_calibration(None)
    np.testing.assert_allclose(model.predict(window), _expected(window, DEFAULT), atol=1e-5)


@pytest.mark.parametrize("stats, message", [
    (np.full((2, N_MELS), np.nan), "finite"),
    (np.ones((2, N_MELS + 1)), r"\[2, 4\]"),
    (np.stack([np.zeros(N_MELS), np.zeros(N_MELS)]), "at least"),
])
def test_bad_statistics_are_refused_and_a_plain_model_is_not_calibratable(tmp_path, stats, message):
    model = OnnxClassifier.load(_write_model(tmp_path / "cal.onnx"), sandbox=False)
    with pytest.raises(ValueError, match=message):
        model.set_calibration(stats)
    assert model.calibration is None
    plain = OnnxClassifier.load(write_tone_model(tmp_path / "plain.onnx"), sandbox=False)
    assert not plain.calibratable and "no band statistics" in plain.calibration_problem
    with pytest.raises(ValueError, match="cannot be calibrated"):
        plain.set_calibration(DEFAULT)


def test_mismatched_calibration_parts_load_and_classify_but_do_not_calibrate(tmp_path):
    mismatched = OnnxClassifier.load(_write_model(tmp_path / "m.onnx", moments_bands=3), sandbox=False)
    assert not mismatched.calibratable and "band_moments" in mismatched.calibration_problem
    assert mismatched.classify(_speaker(2, 0.1)[0]).shape == (len(LABELS),)
    fixed = OnnxClassifier.load(_write_model(tmp_path / "f.onnx", with_stats=False), sandbox=False)
    assert not fixed.calibratable and "lacks 'band_stats'" in fixed.calibration_problem


def test_a_model_answering_nan_moments_cannot_calibrate(tmp_path):
    path = _write_model(tmp_path / "nan.onnx", nan_moments=True)
    model = OnnxClassifier.load(path, sandbox=False)
    with pytest.raises(ModelLoadError, match="nan.onnx.*band moments"):
        model.calibrate(_speaker(3, 0.0))
    assert model.calibration is None


def _classify(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "classify", *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_classify_calibrate_normalises_to_the_files_as_one_speaker(tmp_path):
    clips = _speaker(4, offset=-0.2)
    files = []
    for i, clip in enumerate(clips):
        files.append(tmp_path / f"take{i}.wav")
        sf.write(files[-1], clip, SR, subtype="FLOAT")
    model = _write_model(tmp_path / "cal.onnx")
    proc = _classify(model, *files, "--calibrate", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["calibrated"] == {"files": 2} and "calibrated to 2 file(s)" in proc.stderr
    stats = _pooled_stats(clips)
    for result, clip in zip(doc["results"], clips, strict=True):
        want = _expected(_windows(clip), stats).mean(axis=0)
        np.testing.assert_allclose([result["probs"][label] for label in LABELS], want, atol=1e-5)

    plain = write_tone_model(tmp_path / "plain.onnx")
    proc = _classify(plain, *files, "--calibrate")
    assert proc.returncode == 2 and "plain.onnx" in proc.stderr and "cannot be calibrated" in proc.stderr
    assert proc.stdout == ""
