"""Tiny, real Earmark-format ONNX models built with the onnx package (no torch needed)."""

from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from engine.model import INPUT_NAME, METADATA_KEY, OUTPUT_NAME, build_metadata


def tone_model(path, *, labels=("low", "high"), sample_rate_hz=8000, clip_s=0.5,
               freqs_hz=(300.0, 2000.0), metadata: dict | str | None = "default", n_inputs=None):
    """A classifier whose class k responds to a tone at freqs_hz[k] (spectral energy, softmax)."""
    n = n_inputs or int(round(sample_rate_hz * clip_s))
    t = np.arange(n) / sample_rate_hz
    cos = np.stack([np.cos(2 * np.pi * f * t) for f in freqs_hz], axis=1).astype(np.float32)
    sin = np.stack([np.sin(2 * np.pi * f * t) for f in freqs_hz], axis=1).astype(np.float32)
    scale = np.array([8.0 / n], dtype=np.float32)
    nodes = [
        helper.make_node("MatMul", [INPUT_NAME, "cos"], ["c"]),
        helper.make_node("MatMul", [INPUT_NAME, "sin"], ["s"]),
        helper.make_node("Mul", ["c", "c"], ["c2"]),
        helper.make_node("Mul", ["s", "s"], ["s2"]),
        helper.make_node("Add", ["c2", "s2"], ["power"]),
        helper.make_node("Sqrt", ["power"], ["mag"]),
        helper.make_node("Mul", ["mag", "scale"], ["logits"]),
        helper.make_node("Softmax", ["logits"], [OUTPUT_NAME], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "tone",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", n])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", len(freqs_hz)])],
        [numpy_helper.from_array(cos, "cos"), numpy_helper.from_array(sin, "sin"),
         numpy_helper.from_array(scale, "scale")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if metadata == "default":
        metadata = build_metadata(labels=list(labels), sample_rate_hz=sample_rate_hz, clip_s=clip_s,
                                  architecture="tone-test")
    if metadata is not None:
        text = metadata if isinstance(metadata, str) else json.dumps(metadata)
        helper.set_model_props(model, {METADATA_KEY: text})
    onnx.save(model, str(path))
    return path
