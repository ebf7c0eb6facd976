"""Export a ``WaveformModel`` to one self-contained ONNX file, verified against PyTorch.

The graph takes ``waveform`` float32 ``[batch, n_samples]`` (batch is dynamic) and returns
``probs`` float32 ``[batch, n_classes]``; the log-mel frontend is inside it. The Earmark
metadata JSON goes into ``metadata_props`` under ``engine.models.metadata.METADATA_KEY``. ONNX Runtime
must reproduce the PyTorch probabilities on ``example`` within ``tolerance`` or nothing is
written.

A model with band normalisation (``WaveformModel.band_norm``) is exported calibratable
(engine/models/calibration.py): ``band_stats`` ``[2, n_mels]`` is a graph input with an initializer of
the same name (ONNX Runtime's overridable initializer: the stored default is used unless
statistics are fed), and ``band_moments`` ``[batch, 2, n_mels]`` is a second output. Parity is
checked both with the default and with statistics fed.

Every exported model also answers ``embedding`` float32 ``[batch, dim]``, its last output: the
input of the backbone's classifier head (``trainer.models.frontend.ExportedModel``), for search,
maps and active learning. Its parity is checked too, relative to its largest magnitude, within
``embedding_tolerance`` (:data:`EMBEDDING_TOLERANCE`), and metadata ``embedding`` records
``{"dim", "parity_max_rel_err"}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from onnx.external_data_helper import uses_external_data

from engine.atomic import atomic_write_bytes, json_default
from engine.errors import EarmarkError, ModelLoadError
from engine.models.calibration import MOMENTS_NAME, STATS_NAME, BandMoments
from engine.models.embedding import EMBEDDING_NAME
from engine.models.metadata import INPUT_NAME, METADATA_KEY, OUTPUT_NAME, parse_metadata
from trainer.models.frontend import ExportedModel, WaveformModel

OPSET = 17
# The embedding's parity, relative to its largest magnitude: the index stores it as float16, whose
# rounding is 2**-11 (4.9e-4) relative, so 1e-3 is below what storing it loses (ResNet-50-CBAM's
# 2048 pooled features were measured at 1.5e-4, its probabilities at 2.7e-5).
EMBEDDING_TOLERANCE = 1e-3


class ExportError(EarmarkError):
    """A model could not be exported, or ONNX Runtime disagrees with PyTorch on it."""


def export_onnx(model: WaveformModel, path: str | os.PathLike, *, metadata: dict[str, Any],
                example: torch.Tensor, tolerance: float = 1e-4,
                embedding_tolerance: float = EMBEDDING_TOLERANCE) -> float:
    """Write ``model`` to ``path`` with ``metadata``; return the ONNX-vs-PyTorch max abs error.

    ``example`` is a float32 ``[batch, n_samples]`` batch of real clips. The file is written
    atomically and only when the error is within ``tolerance``; otherwise ``ExportError``.
    ``parity_max_abs_err`` and ``parity_tolerance`` are added to the stored metadata.
    """
    target = Path(path)
    example = _check_example(example, target)
    was_training = model.training
    model.eval()
    try:
        wrapped = _wrap(model, target)
        with torch.no_grad():
            expected = [_answers(wrapped(example))]
            fed = _own_stats(model, example)
            if fed is not None:
                expected.append(_answers(wrapped(example, torch.from_numpy(fed))))
        _check_metadata(metadata, expected[0][0].shape[1], example.shape[1], target)
        with _temporary_sibling(target) as tmp:
            _trace_to(wrapped, example, tmp, target)
            actual = [_run_onnxruntime(tmp, example.numpy(), target)]
            if fed is not None:
                actual.append(_run_onnxruntime(tmp, example.numpy(), target, stats=fed))
            proto = onnx.load(tmp, load_external_data=False)
    finally:
        model.train(was_training)
    if any(uses_external_data(t) for t in proto.graph.initializer):
        raise ExportError(f"Export to {target}: the model is too large for one ONNX file (over 2 GB)")
    pairs = list(zip(expected, actual, strict=True))
    error = max(_max_abs_error(e[0], a[0], target) for e, a in pairs)
    embedding_error = max(_max_abs_error(e[1], a[1], target) / max(1.0, float(np.abs(e[1]).max()))
                          for e, a in pairs)
    if not (error <= tolerance and embedding_error <= embedding_tolerance):
        raise ExportError(
            f"Export to {target} failed the parity check: ONNX Runtime differs from PyTorch by "
            f"{error:.3g} in probabilities (tolerance {tolerance:g}) and {embedding_error:.3g} relative "
            f"in the embedding (tolerance {embedding_tolerance:g}); no file was written."
        )
    meta = {**metadata, "parity_max_abs_err": error, "parity_tolerance": float(tolerance),
            EMBEDDING_NAME: {"dim": int(expected[0][1].shape[1]), "parity_max_rel_err": embedding_error}}
    _set_metadata(proto, meta)
    atomic_write_bytes(target, proto.SerializeToString())
    return error


def _check_example(example: torch.Tensor, target: Path) -> torch.Tensor:
    if not isinstance(example, torch.Tensor) or example.ndim != 2 or example.shape[0] < 1:
        shape = getattr(example, "shape", None)
        raise ExportError(f"Export to {target}: example must be a [batch, n_samples] tensor, got {shape}")
    example = example.detach().to("cpu", torch.float32).contiguous()
    if not torch.isfinite(example).all():
        raise ExportError(f"Export to {target}: example holds NaN or Inf samples")
    return example


@contextlib.contextmanager
def _temporary_sibling(target: Path) -> Iterator[str]:
    """A temporary file name in ``target``'s folder, removed afterwards whatever happens."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".export.onnx", dir=target.parent)
    except OSError as exc:
        raise ExportError(f"Cannot write {target}: {exc.strerror or exc}") from exc
    os.close(fd)
    try:
        yield tmp_name
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)


def _own_stats(model: WaveformModel, example: torch.Tensor) -> np.ndarray | None:
    """The example's own band statistics (a calibration), for a band-normalised model; else None."""
    if model.band_norm is None:
        return None
    from trainer.models.frontend import band_moments

    pooled = BandMoments(model.frontend.n_mels)
    pooled.add(band_moments(model.frontend(example)).cpu().numpy())
    return pooled.stats()


def _wrap(model: WaveformModel, target: Path) -> ExportedModel:
    try:
        return ExportedModel(model)
    except ValueError as exc:
        raise ExportError(f"Export to {target}: {exc}") from exc


def _answers(outputs: tuple[torch.Tensor, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(probs, embedding) of an ``ExportedModel`` call (band moments are not compared)."""
    return outputs[0].detach().cpu().numpy(), outputs[-1].detach().cpu().numpy()


def _trace_to(wrapped: ExportedModel, example: torch.Tensor, tmp_name: str, target: Path) -> None:
    """Trace ``wrapped`` on ``example`` into the ONNX file ``tmp_name`` (opset 17, dynamic batch)."""
    model = wrapped.model
    calibratable = model.band_norm is not None
    args = (example, model.band_norm.default) if calibratable else (example,)
    inputs = [INPUT_NAME, STATS_NAME] if calibratable else [INPUT_NAME]
    outputs = [OUTPUT_NAME, MOMENTS_NAME] if calibratable else [OUTPUT_NAME]
    outputs.append(EMBEDDING_NAME)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # legacy-exporter and tracer notes, not problems here
            torch.onnx.export(
                wrapped, args, tmp_name, dynamo=False, opset_version=OPSET,
                input_names=inputs, output_names=outputs,
                dynamic_axes={INPUT_NAME: {0: "batch"}, **{name: {0: "batch"} for name in outputs}},
                do_constant_folding=True,
            )
    except Exception as exc:
        raise ExportError(f"Export to {target} failed while tracing the model: {exc}") from exc
    if calibratable:   # the stored default makes band_stats an overridable initializer
        proto = onnx.load(tmp_name, load_external_data=False)
        default = model.band_norm.default.detach().cpu().numpy().astype(np.float32)
        proto.graph.initializer.append(numpy_helper.from_array(default, STATS_NAME))
        onnx.save(proto, tmp_name)


def _set_metadata(proto: onnx.ModelProto, meta: dict[str, Any]) -> None:
    props = {p.key: p.value for p in proto.metadata_props}
    props[METADATA_KEY] = json.dumps(meta, default=json_default, allow_nan=False)
    onnx.helper.set_model_props(proto, props)


def _run_onnxruntime(model_file: str, example: np.ndarray, target: Path,
                     stats: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1      # one run: threads buy nothing, and spinning hurts on a busy CPU
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(model_file, options, providers=["CPUExecutionProvider"])
        feed = {INPUT_NAME: example} if stats is None else {INPUT_NAME: example, STATS_NAME: stats}
        probs, embedding = session.run([OUTPUT_NAME, EMBEDDING_NAME], feed)
        return probs, embedding
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ExportError(f"Export to {target}: ONNX Runtime cannot run the exported graph: {exc}") from exc


def _max_abs_error(expected: np.ndarray, actual: np.ndarray, target: Path) -> float:
    if actual.shape != expected.shape:
        raise ExportError(f"Export to {target}: ONNX Runtime output shape {actual.shape} differs "
                          f"from PyTorch's {expected.shape}; no file was written.")
    return float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64))))


def _check_metadata(meta: dict[str, Any], n_classes: int, n_samples: int, target: Path) -> None:
    """Refuse metadata the engine would refuse when loading the file."""
    try:
        parsed = parse_metadata(json.dumps(meta, default=json_default), source=target)
    except (ModelLoadError, TypeError, ValueError) as exc:
        raise ExportError(f"Export to {target}: bad metadata: {exc}") from exc
    if len(parsed.labels) != n_classes:
        raise ExportError(f"Export to {target}: the model has {n_classes} outputs but the metadata "
                          f"names {len(parsed.labels)} labels")
    if parsed.n_samples != n_samples:
        raise ExportError(f"Export to {target}: the example has {n_samples} samples but the metadata says "
                          f"{parsed.clip_s} s at {parsed.sample_rate_hz} Hz ({parsed.n_samples} samples)")

