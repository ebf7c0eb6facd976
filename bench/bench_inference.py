"""Benchmark 4 - inference: ONNX Runtime vs. PyTorch eager, and live block-to-label latency.

- The shipped model (the first ``models_onnx/*.onnx``; when there is none, a freshly
  exported ``cnn`` model of the same kind, said so in the report) and each backbone
  (waveform in, probabilities out, the log-mel frontend inside): batch 1, two CPU
  threads on both sides, median latency over five alternating blocks of runs per side.
  The eager side is the same architecture rebuilt from the file's metadata (random
  weights time the same).
- Live: 100 ms blocks go into the engine's ring buffer; ``StreamingClassifier``
  windows, classifies (ONNX Runtime) and smooths. Block-to-label latency is the
  time from a block's arrival to its label (p50/p95); the real-time factor is
  inference time / hop; CPU time per second of audio comes from ``time.process_time``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from bench.workspace import median, percentile, row, sizes, timed_runs, work_root

THREADS = 2
HOP_S = 0.1
WARMUP_BLOCKS = 5
ROUNDS = 5              # alternating ONNX Runtime / eager blocks per comparison
FRESH = {"sample_rate_hz": 16000, "clip_s": 3.0, "n_mels": 64, "n_fft": 1024,
         "labels": ["anger", "boredom", "disgust", "fear", "happiness", "neutral", "sadness"]}


def shipped_model(folder: Path | None = None) -> tuple[Path, bool]:
    """``(path, shipped)``: the first model in ``models_onnx/``, or a fresh ``cnn`` export."""
    from engine.models.catalog import find_models
    from engine.userdirs import bundled_model_dir

    found = find_models([folder or bundled_model_dir()])
    if found:
        return found[0], True
    path = work_root() / "fresh_cnn.onnx"
    if not path.is_file():
        export_model("cnn", path, **FRESH)
    return path, False


def build_waveform_model(architecture: str, *, labels, sample_rate_hz: int, clip_s: float, n_mels: int = 64,
                         n_fft: int = 1024, input_size=None):
    from trainer.models import create_model, model_info
    from trainer.models.frontend import Classifier, LogMel, WaveformModel

    in_chans = model_info(architecture).default_in_chans
    frontend = LogMel(sample_rate_hz, n_fft=n_fft, n_mels=n_mels)
    if input_size is None:
        frames = frontend.n_frames(int(round(sample_rate_hz * clip_s)))
        input_size = (224, 224) if in_chans == 3 else (n_mels, frames)
    backbone = create_model(architecture, num_classes=len(labels), in_chans=in_chans)
    return WaveformModel(frontend, Classifier(backbone, in_chans, tuple(input_size))).eval()


def export_model(architecture: str, path: Path, *, labels, sample_rate_hz: int, clip_s: float, n_mels: int = 64,
                 n_fft: int = 1024) -> Path:
    from engine.models.metadata import build_metadata
    from trainer.run.export import export_onnx

    torch.manual_seed(0)
    model = build_waveform_model(architecture, labels=labels, sample_rate_hz=sample_rate_hz, clip_s=clip_s,
                                 n_mels=n_mels, n_fft=n_fft)
    n_samples = int(round(sample_rate_hz * clip_s))
    example = torch.from_numpy(_test_audio(n_samples, sample_rate_hz, 2))
    meta = build_metadata(labels=list(labels), sample_rate_hz=sample_rate_hz, clip_s=clip_s,
                          architecture=architecture, n_mels=n_mels, n_fft=n_fft,
                          input_size=list(model.classifier.input_size), task="benchmark")
    export_onnx(model, path, metadata=meta, example=example, tolerance=1e-3)
    return path


def _test_audio(n_samples: int, sample_rate_hz: int, batch: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t_s = np.arange(n_samples) / sample_rate_hz
    tone = 0.3 * np.sin(2 * np.pi * 440.0 * t_s)
    return (tone + 0.05 * rng.standard_normal((batch, n_samples))).astype(np.float32)


def eager_vs_onnx(path: Path, runs: int) -> dict:
    """Median batch-1 latency (s) of the file in ONNX Runtime and of the same architecture in eager PyTorch."""
    from engine.models.classifier import OnnxClassifier

    classifier = OnnxClassifier.load(path, threads=THREADS)
    meta = classifier.meta
    clip = _test_audio(meta.n_samples, meta.sample_rate_hz, 1)
    raw = meta.raw
    model = build_waveform_model(meta.architecture, labels=meta.labels, sample_rate_hz=meta.sample_rate_hz,
                                 clip_s=meta.clip_s, n_mels=int(raw.get("n_mels", 64)),
                                 n_fft=int(raw.get("n_fft", 1024)), input_size=raw.get("input_size"))
    previous = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    ort_runs, eager_runs = [], []
    try:
        x = torch.from_numpy(clip)
        # Alternating blocks, so that a busy spell of the shared machine falls on both sides alike.
        per_block = max(1, -(-runs // ROUNDS))
        with torch.inference_mode():
            for _ in range(ROUNDS):
                ort_runs += timed_runs(lambda: classifier.predict(clip), per_block, warmup=2)
                eager_runs += timed_runs(lambda: model(x), per_block, warmup=2)
    finally:
        torch.set_num_threads(previous)
    return {"architecture": meta.architecture, "onnx_s": median(ort_runs), "eager_s": median(eager_runs),
            "runs": len(ort_runs), "sample_rate_hz": meta.sample_rate_hz, "clip_s": meta.clip_s}


def session_variant(path: Path, *, threads: int, spinning: bool):
    """An ``OnnxClassifier`` on a session with other options than ``OnnxClassifier.load`` sets (to compare)."""
    import onnxruntime as ort

    from engine.models.classifier import OnnxClassifier

    loaded = OnnxClassifier.load(path, threads=threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return OnnxClassifier(loaded.path, session, loaded.meta)


def live_latency(path: Path, n_blocks: int, hop_s: float = HOP_S, classifier=None) -> dict:
    """Feed ``n_blocks`` blocks of ``hop_s`` through ring buffer -> StreamingClassifier; latency figures."""
    from engine.live.ringbuffer import RingBuffer
    from engine.live.stream import StreamingClassifier
    from engine.models.classifier import OnnxClassifier

    classifier = classifier or OnnxClassifier.load(path, threads=THREADS)
    rate = classifier.meta.sample_rate_hz
    stream = StreamingClassifier(classifier, hop_s=hop_s, smoothing=3)
    hop = stream.hop_samples
    window = stream.window_samples
    audio = _test_audio(window + hop * (n_blocks + WARMUP_BLOCKS + 1), rate, 1)[0]
    ring = RingBuffer(window * 4)
    reader = ring.reader()
    ring.write(audio[:window])            # a full window of history, as after the first seconds live
    reader.read()
    latencies, inference, offset = [], [], window
    for _ in range(WARMUP_BLOCKS):        # first runs pay ONNX Runtime's lazy initialisation
        ring.write(audio[offset:offset + hop])
        offset += hop
        stream.step(reader)
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    for _ in range(n_blocks):
        ring.write(audio[offset:offset + hop])
        offset += hop
        for result in stream.step(reader):
            latencies.append(result.latency_s)
            inference.append(result.inference_s)
    cpu_s, wall_s = time.process_time() - cpu_started, time.perf_counter() - wall_started
    audio_s = n_blocks * hop / rate
    return {"blocks": n_blocks, "hop_s": hop_s, "labels": len(latencies),
            "p50_s": percentile(latencies, 50), "p95_s": percentile(latencies, 95),
            "max_s": float(max(latencies)), "rtf_median": median(inference) / hop_s,
            "rtf_p95": percentile(inference, 95) / hop_s, "cpu_s_per_audio_s": cpu_s / audio_s,
            "wall_s_per_audio_s": wall_s / audio_s}


def main(quick: bool) -> dict:
    size = sizes(quick)
    path, shipped = shipped_model()
    ship = eager_vs_onnx(path, 5 * size.inference_runs)   # the target's figure: more runs, a few ms each
    live = live_latency(path, size.live_blocks)
    name = path.name if shipped else f"fresh {ship['architecture']} export (no model in models_onnx/ yet)"
    rows = [row(f"shipped model {name}: batch-1 latency, 2 threads (s)", ship["onnx_s"], ship["eager_s"], "s",
                higher_is_better=False, target=1.5, baseline_name="PyTorch eager")]
    backbones = {}
    fresh = {k: FRESH[k] for k in ("labels", "n_mels", "n_fft")}
    fresh.update(sample_rate_hz=ship["sample_rate_hz"], clip_s=ship["clip_s"])
    for arch in size.backbones:
        target = work_root() / f"backbone_{arch}_{ship['sample_rate_hz']}_{ship['clip_s']}.onnx"
        try:
            if not target.is_file():
                export_model(arch, target, **fresh)
        except Exception as exc:  # an export failure is a finding to report, not a reason to stop
            backbones[arch] = {"error": str(exc).splitlines()[0][:300]}
            rows.append(row(f"{arch}: batch-1 latency, 2 threads (s)", None, None, "s", higher_is_better=False,
                            note=f"export failed: {backbones[arch]['error'][:160]}"))
            continue
        backbones[arch] = result = eager_vs_onnx(target, max(3, size.inference_runs // 2))
        rows.append(row(f"{arch}: batch-1 latency, 2 threads (s)", result["onnx_s"], result["eager_s"], "s",
                        higher_is_better=False, baseline_name="PyTorch eager"))
    latency_ok = live["p95_s"] < 0.050
    variants = {"2 threads, spinning (engine default)": live}
    for label, threads, spinning in (("1 thread", 1, True), ("2 threads, no spinning", 2, False)):
        variants[label] = live_latency(path, size.live_blocks,
                                       classifier=session_variant(path, threads=threads, spinning=spinning))
    notes = [
        "ONNX Runtime through engine.models.classifier.OnnxClassifier (intra-op 2 threads, inter-op 1, sequential, all "
        "graph optimisations); PyTorch eager under torch.inference_mode with torch.set_num_threads(2); "
        f"medians of {ship['runs']} runs a side for the shipped model, in {ROUNDS} alternating blocks.",
        f"Backbones: waveform models at the shipped model's rate and clip length ({ship['sample_rate_hz']} Hz, "
        f"{ship['clip_s']} s), 224x224 input for the ImageNet backbones, native log-mel size for cnn; "
        f"backbones measured: {', '.join(size.backbones)}"
        + ("" if len(size.backbones) >= 7 else " (the quick run's subset; the full run adds alexnet, resnet50 "
                                                "and mobilenetv3_large)")
        + "; the SE/CBAM variants are not listed (same backbones plus attention).",
        f"Live: {live['blocks']} blocks of {int(HOP_S * 1000)} ms; p50 {live['p50_s'] * 1000:.1f} ms, "
        f"p95 {live['p95_s'] * 1000:.1f} ms (target < 50 ms: {'met' if latency_ok else 'NOT met'}).",
    ]
    if not shipped:
        notes.append("No model was shipped in models_onnx/ when this ran: the 'shipped model' figures are for a "
                     "freshly exported cnn (16 kHz, 3 s, 7 EmoDB labels, random weights).")
    return {"name": "inference", "title": "4. Inference", "rows": rows, "notes": notes,
            "live": {**live, "model": path.name, "shipped": shipped, "p95_target_s": 0.050,
                     "meets": latency_ok, "session_variants": variants},
            "extra": {"shipped": ship, "backbones": backbones}}
