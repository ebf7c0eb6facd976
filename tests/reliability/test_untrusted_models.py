"""Untrusted model files: refused with a clear reason before anything in them is used.

External data that leaves the model's folder is refused before ONNX Runtime opens the
file (a spy on ``InferenceSession`` proves it was never called). Damaged files, bad
metadata and wrong signatures end in :class:`ModelLoadError` naming the file.
Checkpoints load with ``torch.load(weights_only=True)`` only.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import engine.models.classifier as model_mod
from engine.errors import ModelLoadError
from engine.models.classifier import OnnxClassifier
from engine.models.metadata import INPUT_NAME, METADATA_KEY, OUTPUT_NAME, build_metadata

from .support import FUZZ

pytestmark = pytest.mark.timeout(120)

RATE_HZ, N_SAMPLES = 8000, 400  # 0.05 s clips keep every model tiny
REPO = Path(__file__).resolve().parents[2]


def meta_json(labels=("low", "high"), **over):
    """Valid metadata with ``labels`` and any fields overridden (unvalidated: tests feed bad values)."""
    meta = build_metadata(labels=["low", "high"], sample_rate_hz=RATE_HZ, clip_s=N_SAMPLES / RATE_HZ,
                          architecture="untrusted-test")
    meta.update(labels=list(labels), **over)
    return json.dumps(meta)


def make_model(*, n_classes=2, in_type=TensorProto.FLOAT, in_shape=("batch", N_SAMPLES), n_basis=N_SAMPLES,
               metadata="default", extra_inputs=(), nodes_before=(), tail="softmax"):
    """A real classifier: energy of projections onto ``n_classes`` fixed vectors, softmax.

    ``tail``: "softmax" (the contract), "rank3" (probs [b, c, 1]) or "hidden" (probs reshaped
    through a data-dependent shape, so no tool can tell the class count before running it).
    """
    basis = np.random.default_rng(0).standard_normal((n_basis, n_classes)).astype(np.float32)
    inits = [numpy_helper.from_array(basis, "basis")]
    nodes = [*nodes_before,
             helper.make_node("Cast", [INPUT_NAME], ["x"], to=TensorProto.FLOAT),
             helper.make_node("MatMul", ["x", "basis"], ["proj"]),
             helper.make_node("Mul", ["proj", "proj"], ["energy"])]
    out_dims: list = ["batch", n_classes]
    if tail == "softmax":
        nodes.append(helper.make_node("Softmax", ["energy"], [OUTPUT_NAME], axis=-1))
    elif tail == "rank3":
        inits.append(numpy_helper.from_array(np.array([2], np.int64), "axis2"))
        nodes += [helper.make_node("Softmax", ["energy"], ["p"], axis=-1),
                  helper.make_node("Unsqueeze", ["p", "axis2"], [OUTPUT_NAME])]
        out_dims = ["batch", n_classes, 1]
    else:  # hidden: n_classes = (length // (length // n_classes)), computed at run time
        inits += [numpy_helper.from_array(np.array([1], np.int64), "one"),
                  numpy_helper.from_array(np.array([-1], np.int64), "minus_one"),
                  numpy_helper.from_array(np.array([n_basis // n_classes], np.int64), "per_class")]
        nodes += [helper.make_node("Softmax", ["energy"], ["p"], axis=-1),
                  helper.make_node("Shape", ["x"], ["xshape"]),
                  helper.make_node("Gather", ["xshape", "one"], ["length"]),
                  helper.make_node("Div", ["length", "per_class"], ["classes"]),
                  helper.make_node("Concat", ["minus_one", "classes"], ["newshape"], axis=0),
                  helper.make_node("Reshape", ["p", "newshape"], [OUTPUT_NAME])]
        out_dims = ["batch", "classes"]
    graph = helper.make_graph(
        nodes, "untrusted",
        [helper.make_tensor_value_info(INPUT_NAME, in_type, list(in_shape)), *extra_inputs],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, out_dims)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if metadata == "default":
        metadata = meta_json(labels=[f"class{i}" for i in range(n_classes)])
    if metadata is not None:
        helper.set_model_props(model, {METADATA_KEY: metadata})
    return model


def save(model, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, os.fspath(path))
    return path


@pytest.fixture
def ort_spy(monkeypatch):
    """Count InferenceSession constructions (the real one still runs)."""
    calls = []
    real = ort.InferenceSession

    def spy(*args, **kwargs):
        calls.append(args[0] if args else kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", spy)
    return calls


def refused(path, pattern):
    with pytest.raises(ModelLoadError, match=pattern) as info:
        OnnxClassifier.load(path, threads=1)
    assert str(path) in str(info.value), info.value
    return info.value


def externalise(tensor: TensorProto, folder: Path, location: str, data_file: Path | None = None) -> None:
    """Move ``tensor``'s bytes to a file and point its external_data at ``location``."""
    raw = numpy_helper.to_array(tensor).tobytes()
    (data_file or folder / location).parent.mkdir(parents=True, exist_ok=True)
    (data_file or (folder / location)).write_bytes(raw)
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(len(raw)))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value


# ---- external data ----------------------------------------------------------------------------

def test_external_data_inside_the_folder_is_allowed_and_correct(tmp_path, ort_spy):
    inline = save(make_model(), tmp_path / "inline" / "m.onnx")
    model = make_model()
    externalise(model.graph.initializer[0], tmp_path / "ext", "weights/basis.bin")
    external = save(model, tmp_path / "ext" / "m.onnx")
    clip = np.random.default_rng(1).standard_normal(N_SAMPLES).astype(np.float32)
    expected = OnnxClassifier.load(inline, threads=1).classify(clip)
    assert np.allclose(OnnxClassifier.load(external, threads=1).classify(clip), expected, atol=1e-6)
    assert len(ort_spy) == 2  # the spy sees real loads, so "ort_spy == []" elsewhere means something


@pytest.mark.parametrize("location", ["../secret.bin", "weights/../../secret.bin", "a/../../../secret.bin"])
def test_external_data_escaping_with_dotdot_is_refused_before_onnxruntime(tmp_path, ort_spy, location):
    folder = tmp_path / "models" / "m"
    model = make_model()
    externalise(model.graph.initializer[0], folder, location, data_file=(folder / location).resolve())
    path = save(model, folder / "model.onnx")
    refused(path, "outside the model's folder")
    assert ort_spy == []


def test_external_data_absolute_path_is_refused(tmp_path, ort_spy):
    secret = tmp_path / "secret.bin"
    model = make_model()
    externalise(model.graph.initializer[0], tmp_path, str(secret), data_file=secret)
    path = save(model, tmp_path / "m" / "model.onnx")
    refused(path, "absolute path")
    assert ort_spy == []


def test_external_data_symlink_out_of_the_folder_is_refused(tmp_path, ort_spy):
    secret = tmp_path / "elsewhere" / "secret.bin"
    model = make_model()
    externalise(model.graph.initializer[0], tmp_path, "x", data_file=secret)
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "weights.bin").symlink_to(secret)
    model.graph.initializer[0].external_data[0].value = "weights.bin"
    path = save(model, folder / "model.onnx")
    refused(path, "outside the model's folder")
    assert ort_spy == []


def test_external_data_hidden_in_a_constant_inside_a_subgraph_is_found(tmp_path, ort_spy):
    """The scan follows node attributes and If/Loop bodies, not only the top-level initializers."""
    leak = numpy_helper.from_array(np.zeros(4, np.float32), "leak")
    externalise(leak, tmp_path, "../../leak.bin", data_file=tmp_path / "leak.bin")
    branch = helper.make_graph([helper.make_node("Constant", [], ["c"], value=leak)], "branch", [],
                               [helper.make_tensor_value_info("c", TensorProto.FLOAT, [4])])
    cond = helper.make_node("Constant", [], ["cond"], value=helper.make_tensor("t", TensorProto.BOOL, [], [True]))
    if_node = helper.make_node("If", ["cond"], ["unused"], then_branch=branch, else_branch=branch)
    path = save(make_model(nodes_before=[cond, if_node]), tmp_path / "a" / "b" / "model.onnx")
    refused(path, "outside the model's folder")
    assert ort_spy == []


def test_external_data_pointing_at_a_missing_or_short_file(tmp_path):
    model = make_model()
    externalise(model.graph.initializer[0], tmp_path / "m", "basis.bin")
    model.graph.initializer[0].external_data[2].value = str(10**9)  # length past the file's end
    path = save(model, tmp_path / "m" / "model.onnx")
    refused(path, "lies outside that file")
    (tmp_path / "m" / "basis.bin").unlink()
    refused(path, "missing")


# ---- damaged files ----------------------------------------------------------------------------

GOOD_BYTES = make_model().SerializeToString()


@FUZZ
@given(cut=st.integers(0, 4000), flips=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=6))
def test_truncated_and_bit_flipped_models(tmp_path, cut, flips):
    data = bytearray(GOOD_BYTES)
    for offset, value in flips:
        if offset < len(data):
            data[offset] = value
    data = data[: max(cut, 1)] if cut < len(data) else data
    path = tmp_path / "damaged.onnx"
    path.write_bytes(bytes(data))
    try:
        classifier = OnnxClassifier.load(path, threads=1)
    except ModelLoadError as exc:
        assert str(path) in str(exc)
        return
    probs = classifier.predict(np.zeros((2, classifier.meta.n_samples), np.float32))
    assert probs.shape == (2, len(classifier.labels)) and np.isfinite(probs).all()


@FUZZ
@given(data=st.binary(max_size=3000))
def test_random_bytes_are_not_a_model(tmp_path, data):
    path = tmp_path / "random.onnx"
    path.write_bytes(data)
    with pytest.raises(ModelLoadError) as info:
        OnnxClassifier.load(path, threads=1)
    assert str(path) in str(info.value)


def test_oversized_file_is_refused_before_reading(tmp_path, monkeypatch, ort_spy):
    path = save(make_model(), tmp_path / "big.onnx")
    monkeypatch.setattr(model_mod, "MAX_MODEL_BYTES", path.stat().st_size - 1)
    refused(path, "larger than")
    assert ort_spy == []


# ---- metadata -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("metadata", "pattern"), [
    (None, "no Earmark metadata"),
    ("{" * 10, "not valid JSON"),
    ("[" * 200_000 + "]" * 200_000, "over|nested too deeply"),
    ("[" * 50_000 + "]" * 50_000, "nested too deeply|must be a JSON object"),
    (json.dumps({"labels": ["a", "b"], "pad": "x" * 1_100_000}), "over 1000000 bytes"),
    ("[1, 2]", "must be a JSON object"),
    (meta_json(labels=("only",)), "2 to"),
    (json.dumps({**json.loads(meta_json()), "labels": [f"c{i}" for i in range(10_001)]}), "2 to"),
    (meta_json(labels=("a", "a")), "not unique"),
    (meta_json(labels=("a", "")), "non-empty string"),
    (meta_json(labels=("a", 7)), "non-empty string"),
    (meta_json(clip_s=float("nan")), "clip_s"),
    (meta_json(clip_s=1e308 * 10), "clip_s"),
    (meta_json(sample_rate_hz=10**40), "sample_rate_hz"),
    (meta_json(sample_rate_hz="8000"), "sample_rate_hz"),
    (meta_json(format_version=99), "format_version"),
])
def test_bad_metadata_is_refused_before_onnxruntime(tmp_path, ort_spy, metadata, pattern):
    path = save(make_model(metadata=metadata), tmp_path / "meta.onnx")
    refused(path, pattern)
    assert ort_spy == []


def test_more_labels_than_outputs_and_fewer(tmp_path):
    path = save(make_model(n_classes=3, metadata=meta_json(labels=("a", "b"))), tmp_path / "few.onnx")
    refused(path, "outputs 3 classes but its metadata names 2")
    path = save(make_model(n_classes=2, metadata=meta_json(labels=("a", "b", "c"))), tmp_path / "many.onnx")
    refused(path, "outputs 2 classes but its metadata names 3")


def test_label_count_mismatch_hidden_behind_a_symbolic_output_is_caught_by_the_probe(tmp_path):
    model = make_model(n_classes=3, tail="hidden", metadata=meta_json(labels=("a", "b")))
    refused(save(model, tmp_path / "sym.onnx"), r"answered shape \[1, 3\]")


# ---- signatures -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"in_type": TensorProto.DOUBLE}, "one float32 input"),
    ({"in_type": TensorProto.INT64}, "one float32 input"),
    ({"in_shape": ("batch", 1, N_SAMPLES)}, "one float32 input"),
    ({"in_shape": (N_SAMPLES,)}, "one float32 input"),
    ({"in_shape": ("batch", N_SAMPLES * 2), "n_basis": N_SAMPLES * 2}, "takes 800 samples"),
    ({"extra_inputs": [helper.make_tensor_value_info("gain", TensorProto.FLOAT, [1])]}, "one float32 input"),
    ({"tail": "rank3"}, "float32 output"),
])
def test_wrong_input_or_output_signature(tmp_path, kwargs, pattern):
    refused(save(make_model(**kwargs), tmp_path / "sig.onnx"), pattern)


def test_symbolic_length_that_fails_at_run_time_is_caught_by_the_probe(tmp_path):
    """Declared [batch, n] but the graph only works for another length: refused at load, not mid-stream."""
    model = make_model(in_shape=("batch", "n"), metadata=meta_json(clip_s=0.1))  # 800 samples vs 400 in basis
    refused(save(model, tmp_path / "late.onnx"), "fails on a 0.1 s clip")


def test_fixed_batch_of_one_still_classifies_long_audio(tmp_path):
    classifier = OnnxClassifier.load(save(make_model(in_shape=(1, N_SAMPLES)), tmp_path / "b1.onnx"), threads=1)
    probs = classifier.predict(np.zeros((5, N_SAMPLES), np.float32))
    assert probs.shape == (5, 2)


def test_memory_bomb_graph_is_refused_at_load(tmp_path):
    """ConstantOfShape asking for 160 GB: the sandboxed first run fails cleanly instead of later."""
    shape = numpy_helper.from_array(np.array([200_000, 200_000], np.int64), "shape")
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["big"],
                              value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])),
             helper.make_node("ReduceSum", ["big"], ["total"], keepdims=0)]
    model = make_model(nodes_before=nodes)
    model.graph.initializer.append(shape)
    model.graph.output.append(helper.make_tensor_value_info("total", TensorProto.FLOAT, []))
    refused(save(model, tmp_path / "bomb.onnx"), "memory on its first run")


# ---- checkpoints (torch) -----------------------------------------------------------------------

class Smuggled:
    """Unpickling this would run code; ``weights_only=True`` must refuse it."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/earmark-pwned",))


def test_checkpoint_with_a_pickled_object_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    loop = pytest.importorskip("trainer.run.loop")
    import pickle

    marker = Path("/tmp/earmark-pwned")
    marker.unlink(missing_ok=True)
    path = tmp_path / "evil.pt"
    torch.save({"model": {"w": torch.zeros(2)}, "payload": Smuggled()}, path)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        loop.load_state(path)
    assert not marker.exists()
    good = tmp_path / "good.pt"
    loop.save_state(good, {"model": {"w": torch.ones(2)}, "epoch": 3})
    assert loop.load_state(good)["epoch"] == 3


def test_every_torch_load_in_the_code_uses_weights_only():
    """A static check: no ``torch.load(`` anywhere in the project without ``weights_only=True``."""
    offenders = []
    for folder in ("engine", "trainer", "gui", "scripts", "bench", "installer"):
        for path in (REPO / folder).rglob("*.py") if (REPO / folder).is_dir() else ():
            text = path.read_text(encoding="utf-8", errors="replace")
            for match in re.finditer(r"torch\.load\(", text):
                call = _call_text(text, match.end())
                if not re.search(r"weights_only\s*=\s*True", call):
                    offenders.append(f"{path.relative_to(REPO)}:{text.count(chr(10), 0, match.start()) + 1}")
    main = REPO / "main.py"
    if main.is_file() and "torch.load(" in main.read_text():
        offenders.append("main.py")
    assert not offenders, f"torch.load without weights_only=True: {offenders}"


def _call_text(text: str, start: int) -> str:
    depth, pos = 1, start
    while pos < len(text) and depth:
        depth += {"(": 1, ")": -1}.get(text[pos], 0)
        pos += 1
    return text[start:pos]
