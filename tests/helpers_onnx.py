"""Tiny but real Earmark ONNX models for tests, built with ``onnx.helper`` (no torch).

:func:`write_tone_model` writes a classifier whose answer depends on the audio: each label
is a tone frequency, scored by the energy of a Hann-windowed projection onto that
frequency (MatMul with fixed sin/cos matrices, square, pair sums, log, softmax). A 300 Hz
sine is labelled ``tone_300hz``; a 2 kHz sine ``tone_2000hz``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from engine.models.metadata import INPUT_NAME, METADATA_KEY, OUTPUT_NAME, build_metadata

TONES_HZ = (300, 600, 1000, 2000, 3500)


def tone_labels(tones_hz=TONES_HZ) -> list[str]:
    return [f"tone_{int(f)}hz" for f in tones_hz]


def _basis(n_samples: int, sample_rate_hz: int, tones_hz) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n_samples) / sample_rate_hz
    hann = np.hanning(n_samples)
    cols = []
    for f in tones_hz:
        cols.append(hann * np.cos(2 * np.pi * f * t))
        cols.append(hann * np.sin(2 * np.pi * f * t))
    basis = (np.stack(cols, axis=1) * (2.0 / n_samples)).astype(np.float32)  # [n, 2k]
    pairs = np.zeros((2 * len(tones_hz), len(tones_hz)), dtype=np.float32)
    for k in range(len(tones_hz)):
        pairs[2 * k, k] = pairs[2 * k + 1, k] = 1.0
    return basis, pairs


def tone_model_proto(*, sample_rate_hz: int = 16000, clip_s: float = 1.0, tones_hz=TONES_HZ,
                     temperature: float = 0.35, metadata: dict | None = None,
                     with_metadata: bool = True, with_embedding: bool = False) -> onnx.ModelProto:
    n_samples = int(round(sample_rate_hz * clip_s))
    basis, pairs = _basis(n_samples, sample_rate_hz, tones_hz)
    inits = [
        numpy_helper.from_array(basis, "basis"),
        numpy_helper.from_array(pairs, "pairs"),
        numpy_helper.from_array(np.array(1e-8, dtype=np.float32), "eps"),
        numpy_helper.from_array(np.array(temperature, dtype=np.float32), "temp"),
    ]
    nodes = [
        helper.make_node("MatMul", [INPUT_NAME, "basis"], ["proj"]),
        helper.make_node("Mul", ["proj", "proj"], ["sq"]),
        helper.make_node("MatMul", ["sq", "pairs"], ["energy"]),
        helper.make_node("Add", ["energy", "eps"], ["energy_eps"]),
        helper.make_node("Log", ["energy_eps"], ["log_energy"]),
        helper.make_node("Mul", ["log_energy", "temp"], ["logits"]),
        helper.make_node("Softmax", ["logits"], [OUTPUT_NAME], axis=-1),
    ]
    outputs = [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", len(tones_hz)])]
    if with_embedding:   # the log energies per tone: a [batch, k] vector, as a model's pooled features
        nodes.append(helper.make_node("Identity", ["log_energy"], ["embedding"]))
        outputs.append(helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", len(tones_hz)]))
    graph = helper.make_graph(
        nodes, "earmark_tone_classifier",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", n_samples])],
        outputs,
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="earmark-tests")
    model.ir_version = 8
    if with_metadata:
        meta = metadata or build_metadata(
            labels=tone_labels(tones_hz), sample_rate_hz=sample_rate_hz, clip_s=clip_s,
            architecture="tone-projection (test model)",
            training_data={"name": "none: fixed sine projections", "n_clips": 0},
            metrics={"accuracy": 1.0, "macro_f1": 1.0},
            task="tones",
        )
        helper.set_model_props(model, {METADATA_KEY: json.dumps(meta)})
    onnx.checker.check_model(model)
    return model


def write_tone_model(path: str | Path, **kwargs) -> Path:
    """Write a tone classifier to ``path`` (see :func:`tone_model_proto`) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(tone_model_proto(**kwargs), path)
    return path


def write_model_without_metadata(path: str | Path, **kwargs) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(tone_model_proto(with_metadata=False, **kwargs), path)
    return path


# ---- hostile models: tiny files that would hang or exhaust a process that trusted them ----------

def _hostile_model(nodes, inits, *, sample_rate_hz: int = 8000, clip_s: float = 0.05,
                   tones_hz=(300, 2000)) -> onnx.ModelProto:
    """The tone classifier's contract (waveform in, probs out, metadata) around ``nodes``,
    which must produce ``hostile`` (a float scalar); probs = softmax(logits + 0 * hostile)."""
    model = tone_model_proto(sample_rate_hz=sample_rate_hz, clip_s=clip_s, tones_hz=tones_hz)
    graph = model.graph
    for node in graph.node:
        if node.op_type == "Softmax":
            node.input[0] = "logits_h"
    zero = numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero_h")
    graph.initializer.extend([zero, *inits])
    graph.node.extend([*nodes, helper.make_node("Mul", ["hostile", "zero_h"], ["hostile0"]),
                       helper.make_node("Add", ["logits", "hostile0"], ["logits_h"])])
    # Softmax must come last for a topologically sorted graph.
    softmax = [n for n in graph.node if n.op_type == "Softmax"]
    others = [n for n in graph.node if n.op_type != "Softmax"]
    del graph.node[:]
    graph.node.extend(others + softmax)
    return model


def loop_bomb_proto() -> onnx.ModelProto:
    """A ``Loop`` with 2**40 iterations (a counter in the body): runs for days."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Add", ["acc_in", "one_b"], ["acc_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [])],
        initializer=[numpy_helper.from_array(np.array(1.0, np.float32), "one_b")],
    )
    inits = [numpy_helper.from_array(np.array(2**40, np.int64), "trips"),
             numpy_helper.from_array(np.array(True), "cond0"),
             numpy_helper.from_array(np.array(0.0, np.float32), "acc0")]
    nodes = [helper.make_node("Loop", ["trips", "cond0", "acc0"], ["hostile"], body=body)]
    return _hostile_model(nodes, inits)


def expanding_model_proto(n: int = 33_000) -> onnx.ModelProto:
    """Allowed operators only: ConstantOfShape [n, n] float (4.4 GB at n=33000), then its mean."""
    inits = [numpy_helper.from_array(np.array([n, n], np.int64), "big_shape")]
    nodes = [helper.make_node("ConstantOfShape", ["big_shape"], ["big"],
                              value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])),
             helper.make_node("ReduceMean", ["big"], ["hostile"], keepdims=0)]
    return _hostile_model(nodes, inits)


def slow_model_proto(n: int = 2048, steps: int = 400) -> onnx.ModelProto:
    """Allowed operators only, small memory, but ``steps`` [n, n] matrix products computed
    from the input (so no optimiser folds them away): many minutes on one core."""
    inits = [numpy_helper.from_array(np.array([n, n], np.int64), "sq_shape"),
             numpy_helper.from_array(np.array([0], np.int64), "ax0")]
    nodes = [helper.make_node("ReduceMean", [INPUT_NAME], ["level"], keepdims=0),
             helper.make_node("ConstantOfShape", ["sq_shape"], ["ones"],
                              value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1e-4])),
             helper.make_node("Add", ["ones", "level"], ["m0"])]
    for k in range(steps):
        nodes.append(helper.make_node("MatMul", [f"m{k}", "m0"], [f"m{k + 1}"]))
    nodes.append(helper.make_node("ReduceMean", [f"m{steps}"], ["hostile"], keepdims=0))
    return _hostile_model(nodes, inits)


def write_proto(model: onnx.ModelProto, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    return path


def nan_when_loud_proto(threshold: float = 0.6) -> onnx.ModelProto:
    """Probabilities for quiet input (silence and the load-time noise probe pass), NaN once
    the audio peaks above ``threshold``: log(threshold - max|x|) turns NaN."""
    inits = [numpy_helper.from_array(np.array(threshold, np.float32), "limit")]
    nodes = [helper.make_node("Abs", [INPUT_NAME], ["mag"]),
             helper.make_node("ReduceMax", ["mag"], ["peak"], keepdims=0),
             helper.make_node("Sub", ["limit", "peak"], ["room"]),
             helper.make_node("Log", ["room"], ["hostile"])]
    return _hostile_model(nodes, inits)


def tone_tail_proto(op_type: str, **kwargs) -> onnx.ModelProto:
    """The tone classifier with its Softmax replaced by ``op_type`` ("Identity": logits,
    "Sigmoid": scores in [0, 1] that do not sum to 1)."""
    model = tone_model_proto(**kwargs)
    for node in model.graph.node:
        if node.op_type == "Softmax":
            node.op_type = op_type
            del node.attribute[:]
    return model


def with_labels(model: onnx.ModelProto, labels: list[str]) -> onnx.ModelProto:
    """``model`` with its metadata's labels replaced (unvalidated: tests feed bad labels)."""
    meta = json.loads(next(p.value for p in model.metadata_props if p.key == METADATA_KEY))
    meta["labels"] = list(labels)
    helper.set_model_props(model, {METADATA_KEY: json.dumps(meta)})
    return model
