"""Earmark-format tone models with chosen labels and metadata, for the metadata-contract tests.

The graph is :func:`tests.helpers_onnx.tone_model_proto`'s (class k responds to a tone at
``freqs_hz[k]``); this adds custom label names and raw, missing or malformed metadata.
"""

from __future__ import annotations

import json

import onnx
from onnx import helper

from engine.models.metadata import METADATA_KEY, build_metadata
from tests.helpers_onnx import tone_model_proto


def tone_model(path, *, labels=("low", "high"), sample_rate_hz=8000, clip_s=0.5,
               freqs_hz=(300.0, 2000.0), metadata: dict | str | None = "default"):
    """Write a tone classifier; ``metadata`` is "default", a dict, raw JSON text, or None (absent)."""
    model = tone_model_proto(sample_rate_hz=sample_rate_hz, clip_s=clip_s, tones_hz=freqs_hz,
                             with_metadata=False)
    if metadata == "default":
        metadata = build_metadata(labels=list(labels), sample_rate_hz=sample_rate_hz, clip_s=clip_s,
                                  architecture="tone-test")
    if metadata is not None:
        text = metadata if isinstance(metadata, str) else json.dumps(metadata)
        helper.set_model_props(model, {METADATA_KEY: text})
    onnx.save(model, str(path))
    return path
