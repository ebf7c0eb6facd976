"""Re-export a shipped ``cnn`` model with the current exporter, from the weights in its own file.

When the exported form of the frontend changes (trainer/models/frontend.py), the shipped model can
be brought up to date without its training checkpoint: the ``cnn`` backbone's weights are
read back from the ``.onnx`` file (the exporter folded each batch norm into the convolution
before it, so each block gets the folded kernel and a batch norm that only adds the folded
bias), the PyTorch model is checked against ONNX Runtime on the old file, exported again
(with the exporter's own parity check) and finally checked against the old file on every
clip of a real data set. The metadata is kept, with the new parity figures and a note of the
re-export.

    .venv/bin/python scripts/reexport_shipped.py models_onnx/emodb_cnn.onnx \\
        --clips ../shared/data/emodb-2s/wav
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.audio.io import fit_length, load_audio  # noqa: E402
from engine.models.classifier import OnnxClassifier  # noqa: E402
from trainer.models import create_model  # noqa: E402
from trainer.models.frontend import Classifier, LogMel, WaveformModel  # noqa: E402
from trainer.run.export import export_onnx  # noqa: E402

TOLERANCE = 1e-5


def rebuild(proto: onnx.ModelProto, meta: dict) -> WaveformModel:
    """The PyTorch ``WaveformModel`` whose export is ``proto`` (``cnn`` backbones only)."""
    if meta.get("architecture") != "cnn":
        raise SystemExit(f"only 'cnn' models can be rebuilt from their ONNX weights, not {meta.get('architecture')!r}")
    weights = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    convs = [node for node in proto.graph.node if node.op_type == "Conv" and node.input[1] in weights
             and weights[node.input[1]].ndim == 4]
    backbone = create_model("cnn", num_classes=len(meta["labels"]), in_chans=1)
    blocks = list(backbone.features)
    if len(convs) != len(blocks):
        raise SystemExit(f"found {len(convs)} convolutions with weights, the cnn has {len(blocks)} blocks")
    state = {}
    for index, (node, block) in enumerate(zip(convs, blocks, strict=True)):
        kernel, bias = weights[node.input[1]], weights[node.input[2]]
        norm = block[1]
        state[f"features.{index}.0.weight"] = torch.from_numpy(kernel.copy())
        state[f"features.{index}.1.weight"] = torch.ones_like(norm.weight)
        state[f"features.{index}.1.bias"] = torch.from_numpy(bias.copy())
        state[f"features.{index}.1.running_mean"] = torch.zeros_like(norm.running_mean)
        state[f"features.{index}.1.running_var"] = torch.full_like(norm.running_var, 1.0 - norm.eps)
        state[f"features.{index}.1.num_batches_tracked"] = torch.zeros_like(norm.num_batches_tracked)
    state["fc.weight"] = torch.from_numpy(weights["classifier.backbone.fc.weight"].copy())
    state["fc.bias"] = torch.from_numpy(weights["classifier.backbone.fc.bias"].copy())
    backbone.load_state_dict(state)
    frontend = LogMel(int(meta["sample_rate_hz"]), n_fft=int(meta.get("n_fft", 1024)),
                      n_mels=int(meta.get("n_mels", 64)))
    classifier = Classifier(backbone, 1, tuple(meta["input_size"]))
    return WaveformModel(frontend, classifier).eval()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--clips", type=Path, required=True, help="a folder of real WAV clips to check on")
    parser.add_argument("--out", type=Path, help="where to write (default: over MODEL)")
    args = parser.parse_args()
    old = OnnxClassifier.load(args.model, threads=2)
    meta = dict(old.meta.raw)
    paths = sorted(args.clips.glob("*.wav"))
    n = old.meta.n_samples
    waves = np.stack([fit_length(load_audio(p, old.meta.sample_rate_hz).samples, n) for p in paths])
    before = old.predict(waves)
    model = rebuild(onnx.load(str(args.model)), meta)
    with torch.no_grad():
        rebuilt = model(torch.from_numpy(waves)).numpy()
    rebuild_err = float(np.abs(rebuilt - before).max())
    if rebuild_err > TOLERANCE:
        raise SystemExit(f"the rebuilt PyTorch model differs from {args.model} by {rebuild_err:.2e}")
    for key in ("parity_max_abs_err", "parity_tolerance"):
        meta.pop(key, None)
    meta["reexported_utc"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    target = args.out or args.model
    export_onnx(model, target, metadata=meta, example=torch.from_numpy(waves[:8]))
    after = OnnxClassifier.load(target, threads=2).predict(waves)
    report = {"clips": len(paths), "rebuilt_vs_old_max_abs": rebuild_err,
              "new_vs_old_max_abs": float(np.abs(after - before).max()),
              "new_vs_pytorch_max_abs": float(np.abs(after - rebuilt).max()),
              "labels_agree": int((after.argmax(1) == before.argmax(1)).sum()),
              "labels_agree_with_pytorch": int((after.argmax(1) == rebuilt.argmax(1)).sum())}
    print(json.dumps(report, indent=2))
    agree = report["labels_agree"] == report["labels_agree_with_pytorch"] == len(paths)
    return 0 if agree and report["new_vs_old_max_abs"] <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
