"""The model-file contract: one .onnx file, waveform in, probabilities out, metadata inside.

An Earmark model takes mono float32 audio ``[batch, n_samples]`` at its own sample rate
and returns class probabilities ``[batch, n_classes]``. Its ``metadata_props`` carry a
JSON object under :data:`METADATA_KEY`; a file without it is refused.

A model file is untrusted: :meth:`OnnxClassifier.load` scans it before ONNX Runtime sees it
(:mod:`engine.models.scan`: external data, operators against :mod:`engine.models.vet`'s allow-list),
runs its first inferences in a bounded child process, and every answer is checked to be
probabilities (finite, in [0, 1], summing to 1).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import numpy as np

from engine.audio.io import fit_length, window_starts
from engine.errors import ModelLoadError, first_line
from engine.models.calibration import (
    MOMENTS_NAME,
    STATS_NAME,
    calibrate_voiced,
    calibration_support,
    check_stats,
    stored_stats,
)
from engine.models.embedding import EMBEDDING_NAME, check_embeddings, embedding_support
from engine.models.metadata import METADATA_KEY, ModelMeta, meta_thresholds, parse_metadata
from engine.models.scan import check_external_data, scan_model
from engine.models.thresholds import Decision, Thresholds, ThresholdsError, decide, load_user_thresholds

MAX_BATCH = 16
MAX_MODEL_BYTES = 1 << 30  # the .onnx file plus any external data it names
PROB_TOLERANCE = 1e-3  # how far a row of probabilities may sum from 1
SESSION_LOG_SEVERITY = 3  # ONNX Runtime errors only (the vetting probe silences them: 4)


def check_probabilities(probs: np.ndarray, n_labels: int) -> str | None:
    """None when ``probs`` ``[batch, n_labels]`` are probabilities (finite, in [0, 1], rows
    summing to 1 within :data:`PROB_TOLERANCE`); otherwise what is wrong, for a message."""
    probs = np.asarray(probs)
    if probs.ndim != 2 or probs.shape[1] != n_labels:
        return f"answered shape {list(probs.shape)}, not [batch, {n_labels}]"
    if not np.isfinite(probs).all():
        return "answered NaN or infinite values instead of probabilities"
    low, high = float(probs.min()), float(probs.max())
    if low < -1e-6 or high > 1 + 1e-6:
        return f"answered values from {low:.4g} to {high:.4g}, not probabilities in [0, 1] (logits?)"
    sums = probs.astype(np.float64).sum(axis=1)
    worst = float(np.abs(sums - 1).max())
    if worst > PROB_TOLERANCE:
        return f"answered scores that sum to {float(sums[np.abs(sums - 1).argmax()]):.4g}, not 1"
    return None


class OnnxClassifier:
    """An Earmark model file opened in ONNX Runtime, tuned for low-latency CPU inference."""

    def __init__(self, path: Path, session: Any, meta: ModelMeta):
        self.path = path
        self.meta = meta
        self._session = session
        self._input_name = session.get_inputs()[0].name
        self._output_name = session.get_outputs()[0].name
        # Speaker calibration (engine/models/calibration.py): the band statistics fed with every window.
        self.n_bands, self.calibration_problem = calibration_support(session)
        self.calibration: np.ndarray | None = None
        # The statistics the file stores (used uncalibrated): a calibration far from them is refused.
        self.default_stats = stored_stats(path, self.n_bands) if self.n_bands else None
        self.refuse_implausible = True
        # The optional embedding output (engine/models/embedding.py): None and why not, for older models.
        self.embedding_dim, self.embedding_problem = embedding_support(session)
        fixed_batch = session.get_inputs()[0].shape[0]
        self._max_batch = fixed_batch if isinstance(fixed_batch, int) and fixed_batch > 0 else MAX_BATCH
        # Per-class thresholds (engine/models/thresholds.py): the model's own, or the person's saved ones.
        self.thresholds: Thresholds | None = meta_thresholds(meta, path)
        self.thresholds_problem = ""

    @classmethod
    def load(cls, path: str | os.PathLike, *, threads: int = 2, sandbox: bool = True, limits=None,
             cancel=None, log_severity: int = SESSION_LOG_SEVERITY) -> OnnxClassifier:
        """Vet and open ``path``. With ``sandbox`` (the default) the first session and inference
        run in a bounded child process first (:mod:`engine.models.vet`); ``cancel`` stops that early."""
        path = Path(path)
        text = check_model_file(path)  # before ONNX Runtime sees the file
        parse_metadata(text, source=path)
        if sandbox:
            from engine.models.vet import first_run_in_sandbox

            first_run_in_sandbox(path, threads=threads, limits=limits, cancel=cancel)
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = log_severity
        # No spin-waiting between ops: on a busy two-core machine spinning threads took CPU
        # from the GUI and the capture thread (resnet18 2 threads: 39 ms spinning, 34 ms not;
        # docs/MODELS.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = ort.InferenceSession(os.fspath(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelLoadError(f"{path}: not a usable ONNX model ({first_line(exc)})") from exc
        meta = parse_metadata(session.get_modelmeta().custom_metadata_map.get(METADATA_KEY), source=path)
        _check_signature(session, meta, path)
        classifier = cls(path, session, meta)
        classifier._probe()
        try:
            classifier.thresholds = load_user_thresholds(path, meta.labels) or classifier.thresholds
        except ThresholdsError as exc:   # the person's file is damaged: the model's own ones, and why
            classifier.thresholds_problem = str(exc)
        return classifier

    def decide(self, probs: np.ndarray) -> Decision:
        """The label to show for ``probs`` (None, with the reason, when no class reaches its threshold)."""
        return decide(probs, self.meta.labels, self.thresholds)

    @property
    def labels(self) -> list[str]:
        return self.meta.labels

    @property
    def calibratable(self) -> bool:
        """Whether the model takes a speaker's band statistics (``calibrate``, ``set_calibration``)."""
        return self.n_bands is not None

    def set_calibration(self, stats: np.ndarray | None) -> None:
        """Feed these band statistics ``[2, n_mels]`` from now on (None: the model's own default)."""
        if stats is not None:
            if not self.calibratable:
                raise ValueError(f"{self.path}: cannot be calibrated: {self.calibration_problem}")
            stats = check_stats(stats, self.n_bands, str(self.path))
        self.calibration = stats

    def calibrated(self, stats: np.ndarray | None) -> OnnxClassifier:
        """This model fed ``stats`` (a speaker's); the session is shared, this one is unchanged."""
        other = copy.copy(self)
        other.set_calibration(stats)
        return other

    def band_moments(self, waveforms: np.ndarray) -> np.ndarray:
        """``[batch, 2, n_mels]`` band moments of ``[batch, n_samples]`` windows, checked."""
        if not self.calibratable:
            raise ValueError(f"{self.path}: cannot be calibrated: {self.calibration_problem}")
        waveforms = np.ascontiguousarray(waveforms, dtype=np.float32)
        try:
            moments = self._session.run([MOMENTS_NAME], {self._input_name: waveforms})[0]
        except Exception as exc:  # onnxruntime's own types
            raise ModelLoadError(f"{self.path}: the model fails computing band moments ({first_line(exc)})") from exc
        if moments.shape != (len(waveforms), 2, self.n_bands) or not np.isfinite(moments).all():
            raise ModelLoadError(f"{self.path}: the model answered band moments of shape {list(moments.shape)} "
                                 f"or non-finite values, not [{len(waveforms)}, 2, {self.n_bands}] decibels")
        return moments

    def calibrate(self, clips, cancel=None) -> np.ndarray:
        """The band statistics ``[2, n_mels]`` of :meth:`calibrate_voiced`, for ``set_calibration``."""
        return self.calibrate_voiced(clips, cancel)[0]

    def calibrate_voiced(self, clips, cancel=None) -> tuple[np.ndarray, float]:
        """``(band statistics, voiced seconds)`` of ``clips`` (1-D arrays of one speaker at the model
        rate, labels unneeded): only their voiced audio is pooled; :class:`CalibrationRefused` when
        none is voiced or the statistics are implausible (engine/models/calibration.py)."""
        if not self.calibratable:
            raise ValueError(f"{self.path}: cannot be calibrated: {self.calibration_problem}")
        return calibrate_voiced(self, clips, cancel)

    def predict(self, waveforms: np.ndarray) -> np.ndarray:
        """Probabilities ``[batch, n_classes]`` for ``[batch, n_samples]`` audio at the model rate."""
        waveforms = np.ascontiguousarray(waveforms, dtype=np.float32)
        if waveforms.ndim != 2:
            raise ValueError(f"expected [batch, n_samples] audio, got shape {waveforms.shape}")
        fed = {} if self.calibration is None else {STATS_NAME: self.calibration}
        outputs = [
            self._session.run([self._output_name], {self._input_name: waveforms[i : i + self._max_batch], **fed})[0]
            for i in range(0, len(waveforms), self._max_batch)
        ]
        return np.concatenate(outputs, axis=0).astype(np.float32, copy=False)

    def embed(self, waveforms: np.ndarray) -> np.ndarray:
        """Embeddings ``[batch, dim]`` of ``[batch, n_samples]`` windows; ValueError saying why for a
        model without them (``embedding_dim`` None: use ``engine.models.embedding.band_statistics``)."""
        return self.predict_and_embed(waveforms)[1]

    def predict_and_embed(self, waveforms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities ``[batch, n_classes]`` and embeddings ``[batch, dim]`` from one forward pass."""
        if self.embedding_dim is None:
            raise ValueError(f"{self.path}: {self.embedding_problem}")
        waveforms = np.ascontiguousarray(waveforms, dtype=np.float32)
        fed = {} if self.calibration is None else {STATS_NAME: self.calibration}
        names = [self._output_name, EMBEDDING_NAME]
        try:
            parts = [self._session.run(names, {self._input_name: waveforms[i : i + self._max_batch], **fed})
                     for i in range(0, len(waveforms), self._max_batch)]
        except Exception as exc:  # onnxruntime's own types
            raise ModelLoadError(f"{self.path}: the model fails computing embeddings ({first_line(exc)})") from exc
        probs = np.concatenate([p for p, _ in parts]).astype(np.float32, copy=False)
        embedding = np.concatenate([e for _, e in parts]).astype(np.float32, copy=False)
        problem = check_embeddings(embedding, len(waveforms), self.embedding_dim, str(self.path))
        if problem is not None:
            raise ModelLoadError(problem)
        return probs, embedding

    def _probe(self) -> None:
        """Run a silent clip and a noise clip: the model must answer [1, n_labels] probabilities."""
        noise = np.random.default_rng(0).uniform(-0.5, 0.5, self.meta.n_samples).astype(np.float32)
        for name, clip in (("silence", np.zeros(self.meta.n_samples, np.float32)), ("noise", noise)):
            try:
                probs = self.predict(clip[None, :])
            except Exception as exc:  # onnxruntime's own types: a graph that fails on its documented input
                raise ModelLoadError(
                    f"{self.path}: the model fails on a {self.meta.clip_s} s clip ({first_line(exc)})"
                ) from exc
            if probs.shape != (1, len(self.labels)):
                raise ModelLoadError(
                    f"{self.path}: the model answered shape {list(probs.shape)} for one clip; "
                    f"its metadata names {len(self.labels)} labels, so [1, {len(self.labels)}] was expected"
                )
            problem = check_probabilities(probs, len(self.labels))
            if problem is not None:
                raise ModelLoadError(f"{self.path}: the model {problem} for {name}")

    def classify(self, samples: np.ndarray) -> np.ndarray:
        """Probabilities for one clip of any length (windows of a clip, half-clip hop, averaged).

        Windows are run a batch at a time, so memory does not grow with the clip's length.
        Raises ModelLoadError when the model answers something that is not probabilities.
        """
        total, count = None, 0
        for _, probs in self.iter_windows(samples, hop_s=self.meta.clip_s / 2):
            problem = check_probabilities(probs, len(self.labels))
            if problem is not None:
                raise ModelLoadError(f"{self.path}: the model {problem}")
            batch_sum = probs.sum(axis=0, dtype=np.float64)
            total = batch_sum if total is None else total + batch_sum
            count += len(probs)
        return (total / max(count, 1)).astype(np.float32)

    def windows(self, samples: np.ndarray, hop_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Start times (s) and probabilities of clip-length windows every ``hop_s`` seconds."""
        parts = list(self.iter_windows(samples, hop_s))
        return np.concatenate([s for s, _ in parts]), np.concatenate([p for _, p in parts], axis=0)

    def iter_windows(self, samples: np.ndarray, hop_s: float):
        """``(starts_s, probs)`` for consecutive batches of the windows :meth:`windows` returns."""
        n = self.meta.n_samples
        starts = window_starts(len(samples), n, int(round(hop_s * self.meta.sample_rate_hz)))
        for i in range(0, len(starts), self._max_batch):
            chunk = starts[i : i + self._max_batch]
            batch = np.stack([fit_length(samples[s : s + n], n) for s in chunk])
            yield np.asarray(chunk, dtype=np.float64) / self.meta.sample_rate_hz, self.predict(batch)


def _check_signature(session: Any, meta: ModelMeta, path: Path) -> None:
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or inputs[0].type != "tensor(float)" or len(inputs[0].shape) != 2:
        found = ", ".join(f"{i.name} {i.type} {i.shape}" for i in inputs)
        raise ModelLoadError(f"{path}: expected one float32 input [batch, samples], found {found}")
    n_in = inputs[0].shape[1]
    if isinstance(n_in, int) and n_in != meta.n_samples:
        raise ModelLoadError(
            f"{path}: the input takes {n_in} samples but the metadata says "
            f"{meta.clip_s} s at {meta.sample_rate_hz} Hz ({meta.n_samples} samples)"
        )
    if not outputs or outputs[0].type != "tensor(float)" or len(outputs[0].shape) != 2:
        raise ModelLoadError(f"{path}: expected a float32 output [batch, classes]")
    n_out = outputs[0].shape[1]
    if isinstance(n_out, int) and n_out != len(meta.labels):
        raise ModelLoadError(
            f"{path}: the model outputs {n_out} classes but its metadata names {len(meta.labels)} labels"
        )


def check_model_file(path: str | os.PathLike) -> str | None:
    """Vet a model file before ONNX Runtime opens it; return its Earmark metadata JSON (or None).

    Refuses (ModelLoadError naming the file): a missing or oversized file, bytes that are
    not an ONNX protobuf, external-data references that leave the model's folder
    (absolute paths, ``..``, symbolic links out), name a missing file, or add up past
    :data:`MAX_MODEL_BYTES`, and operators outside :data:`engine.models.vet.ALLOWED_OPS`.
    """
    from engine.models.vet import check_ops

    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    size = path.stat().st_size
    if size == 0:
        raise ModelLoadError(f"{path}: the model file is empty (0 bytes)")
    if size > MAX_MODEL_BYTES:
        raise ModelLoadError(f"{path}: {size >> 20} MiB is larger than the {MAX_MODEL_BYTES >> 20} MiB limit")
    import mmap

    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            scan = scan_model(data, size)
    except ModelLoadError as exc:
        raise ModelLoadError(f"{path}: not a usable ONNX model ({exc})") from None
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path}: cannot read the model file ({exc})") from exc
    check_external_data(path, scan.external, size, MAX_MODEL_BYTES)
    check_ops(path, scan.ops)
    return scan.metadata.get(METADATA_KEY)


def probe_first_run(path: str, threads: str, memory_bytes: str) -> tuple[str, str]:
    """The first run of a model file, in the bounded child of :func:`engine.models.vet.first_run_in_sandbox`:
    ``("ok", "")`` when it opened and answered, else ``("refused", reason naming the file)``."""
    memory_mb = int(memory_bytes) >> 20
    try:
        import onnxruntime

        onnxruntime.set_default_logger_severity(4)  # the verdict says what failed; no log lines
        OnnxClassifier.load(path, threads=int(threads), sandbox=False, log_severity=4)
    except ModelLoadError as exc:
        text = str(exc)
        if "failed to allocate" in text.lower() or "bad_alloc" in text.lower():
            text = f"{path}: the model needs more than {memory_mb} MiB of memory on its first run; refused"
        return ("refused", text)
    except MemoryError:
        return ("refused", f"{path}: the model needs more than {memory_mb} MiB on its first run")
    except BaseException as exc:  # noqa: BLE001 - whatever it was, the verdict is "refused"
        return ("refused", f"{path}: cannot be used ({type(exc).__name__}: {str(exc)[:300]})")
    return ("ok", "")
