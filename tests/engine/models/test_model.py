import json

import numpy as np
import pytest

from engine.errors import ModelLoadError
from engine.models.catalog import find_models
from engine.models.classifier import OnnxClassifier
from engine.models.metadata import build_metadata
from tests.conftest import sine
from tests.engine.onnx_fixtures import tone_model


def test_loads_metadata_and_classifies_by_content(tmp_path):
    model = OnnxClassifier.load(tone_model(tmp_path / "m.onnx"))
    assert model.labels == ["low", "high"] and model.meta.n_samples == 4000
    probs = model.predict(np.stack([sine(300, 0.5, 8000), sine(2000, 0.5, 8000)]))
    assert probs.shape == (2, 2) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert probs[0].argmax() == 0 and probs[1].argmax() == 1


def test_long_clip_windows_and_average(tmp_path):
    model = OnnxClassifier.load(tone_model(tmp_path / "m.onnx"))
    clip = np.concatenate([sine(300, 1.0, 8000), sine(2000, 2.0, 8000)])
    starts, probs = model.windows(clip, hop_s=0.25)
    assert starts[0] == 0 and starts[-1] == pytest.approx(2.5)
    assert probs[0].argmax() == 0 and probs[-1].argmax() == 1
    assert model.classify(clip).argmax() == 1
    assert model.classify(sine(300, 0.1, 8000)).argmax() == 0  # shorter than a clip: padded


@pytest.mark.parametrize(
    "metadata, message",
    [
        (None, "no Earmark metadata"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"labels": ["a"], "sample_rate_hz": 8000, "clip_s": 0.5}), "2 to"),
        (json.dumps({"labels": ["a", "a"], "sample_rate_hz": 8000, "clip_s": 0.5}), "not unique"),
        (json.dumps({"labels": ["a", "b"], "sample_rate_hz": -1, "clip_s": 0.5}), "sample_rate_hz"),
        (json.dumps({"format_version": 1, "labels": ["a", "b", "c"], "sample_rate_hz": 8000, "clip_s": 0.5}), "outputs 2 classes"),
        (json.dumps({"format_version": 1, "labels": ["a", "b"], "sample_rate_hz": 8000, "clip_s": 1.0}), "takes 4000 samples"),
        ("x" * 1_000_001, "over 1000000 bytes"),
    ],
    ids=["missing", "bad-json", "not-object", "one-label", "dupes", "rate", "label-count", "length", "huge"],
)
def test_bad_metadata_is_refused_naming_the_file(tmp_path, metadata, message):
    path = tone_model(tmp_path / "bad.onnx", metadata=metadata)
    with pytest.raises(ModelLoadError, match=message) as info:
        OnnxClassifier.load(path)
    assert str(path) in str(info.value)


def test_not_an_onnx_file(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ModelLoadError, match="not a usable ONNX model"):
        OnnxClassifier.load(path)
    with pytest.raises(ModelLoadError, match="no such model"):
        OnnxClassifier.load(tmp_path / "none.onnx")


def test_build_metadata_validates():
    with pytest.raises(ModelLoadError):
        build_metadata(labels=["x"], sample_rate_hz=8000, clip_s=1.0, architecture="a")
    meta = build_metadata(labels=["x", "y"], sample_rate_hz=8000, clip_s=1.0, architecture="a", metrics={"f1": 1})
    assert meta["format_version"] == 1 and meta["metrics"] == {"f1": 1}


def test_find_models(tmp_path):
    tone_model(tmp_path / "b.onnx")
    tone_model(tmp_path / "a.onnx")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in find_models([tmp_path, tmp_path / "missing"])] == ["a.onnx", "b.onnx"]
