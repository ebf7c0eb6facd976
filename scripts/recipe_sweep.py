"""The recipe's knobs under speaker-grouped cross-validation on EmoDB, quickly.

Each outer fold's test speakers are held out; the model trains on all the other speakers for
the whole schedule (no early stopping, the last averaged weights: nothing is chosen on any
side, so no validation side is needed) with ``trainer.run.loop.Trainer``, the product's loop, on
log-mels computed once with the recipe's frontend as ``TrainRequest.resolve`` sets it for the
data (on emodb-2s: 64 mels, 32 ms FFT, 10 ms hop, 2 s at 16 kHz). Out-of-fold predictions are pooled. It compares settings (docs/RECIPE.md); the
product's own figure is ``main.py train --folds K``. Comparing settings on these folds is itself
a choice made on them, so the winner's figure here is optimistic; EmoDB's withheld speakers
are the check.

    .venv/bin/python scripts/recipe_sweep.py --data ../shared/data/emodb-2s --bf16 [--loso] [--cmn]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import f1_score
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.audio.io import fit_length, load_audio  # noqa: E402
from engine.datasets.manifest import read_manifest  # noqa: E402
from trainer.models import registry  # noqa: E402
from trainer.models.frontend import Classifier  # noqa: E402
from trainer.recipe import TrainRequest  # noqa: E402
from trainer.run.loop import LoopConfig, Trainer  # noqa: E402
from trainer.run.resolve import frontend_config, resolve  # noqa: E402

PAIRS = [["03", "08"], ["09", "10"], ["11", "14"], ["15", "16"]]   # one male, one female speaker each


class UtteranceMeanNorm(nn.Module):
    """Subtract each mel band's mean over the clip (cepstral mean normalisation, per utterance)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x - x.mean(dim=-1, keepdim=True))


class Unstandardised(Classifier):
    """The backbone on the log-mels as they come (no per-window standardisation)."""

    def forward(self, logmel: torch.Tensor) -> torch.Tensor:
        return self.backbone(logmel)


class Items(torch.utils.data.Dataset):
    def __init__(self, x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> None:
        self.x, self.y, self.idx = x, y, idx

    def __len__(self) -> int:
        return len(self.idx)

    def __getitem__(self, i: int):
        j = int(self.idx[i])
        return torch.from_numpy(self.x[j]), int(self.y[j]), j


def log_mels(data: str, scratch: Path):
    cache = scratch / "logmel.npz"
    if cache.is_file():
        z = np.load(cache)
        return z["x"], z["y"], z["groups"], list(z["labels"])
    manifest = read_manifest(data, "emodb")
    request = resolve(TrainRequest(data=data, out="-"), manifest)    # the recipe's own frontend
    frontend = frontend_config(request)
    waves = np.stack([fit_length(load_audio(c.path, request.sample_rate_hz).samples, frontend.n_samples)
                      for c in manifest.clips])
    with torch.no_grad():
        x = frontend.logmel()(torch.from_numpy(waves).float()).numpy()
    labels = list(manifest.labels)
    y = np.array([labels.index(c.label) for c in manifest.clips])
    groups = np.array([c.group for c in manifest.clips])
    np.savez(cache, x=x, y=y, groups=groups, labels=np.array(labels))
    return x, y, groups, labels


def band_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x.mean(axis=(0, 1, 3), keepdims=True), x.std(axis=(0, 1, 3), keepdims=True) + 1e-3


def normalised(raw: np.ndarray, groups: np.ndarray, trained: np.ndarray, tested: np.ndarray,
               args: argparse.Namespace) -> np.ndarray:
    """The log-mels of one fold, band-normalised as the flags say (labels are never used)."""
    if not (args.speaker_norm or args.global_norm):
        return raw
    x = raw.copy()
    pooled = band_stats(raw[trained])
    if args.global_norm:
        return (x - pooled[0]) / pooled[1]
    for g in set(groups):
        rows = np.where(groups == g)[0]
        if np.isin(rows, tested).any():
            if args.test_norm == "pooled":
                x[rows] = (raw[rows] - pooled[0]) / pooled[1]
                continue
            calib = rows[: args.calib_clips] if args.calib_clips else rows
            mean, std = band_stats(raw[calib])
        else:
            mean, std = band_stats(raw[rows])
        x[rows] = (raw[rows] - mean) / std
    return x


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/emodb-2s")
    p.add_argument("--scratch", type=Path, default=Path("/tmp/recipe_sweep"))
    p.add_argument("--model", default="vgg4")
    p.add_argument("--width", type=int, default=24, help="vgg4's first width")
    p.add_argument("--cmn", action="store_true", help="per-utterance mean normalisation of each mel band")
    p.add_argument("--seeds", type=int, default=1, help="models averaged per fold")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--mixup", type=float, default=0.2)
    p.add_argument("--freq-warp", type=float, default=TrainRequest.freq_warp)
    p.add_argument("--time-warp", type=float, default=TrainRequest.time_warp)
    p.add_argument("--batch", type=int, default=TrainRequest.batch_size)
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast and channels-last while training")
    p.add_argument("--loso", action="store_true", help="leave one speaker out (default: four pairs)")
    p.add_argument("--speaker-norm", action="store_true",
                   help="z-score each mel band per speaker over that speaker's clips (no labels used)")
    p.add_argument("--no-std", action="store_true", help="no per-window standardisation")
    p.add_argument("--test-norm", choices=["speaker", "pooled"], default="speaker",
                   help="with --speaker-norm: test speakers by their own clips, or by the training "
                        "clips' pooled statistics (a model that was never calibrated to them)")
    p.add_argument("--calib-clips", type=int, default=0,
                   help="with --speaker-norm: a test speaker's statistics from only its first N clips")
    p.add_argument("--global-norm", action="store_true",
                   help="z-score each mel band by the training clips' pooled statistics (no speakers)")
    p.add_argument("--tag", default="")
    args = p.parse_args()
    torch.set_num_threads(2)
    args.scratch.mkdir(parents=True, exist_ok=True)
    x, y, groups, labels = log_mels(args.data, args.scratch)
    raw = x
    folds = [[g] for g in sorted(set(groups))] if args.loso else PAIRS
    oof, per_fold, started = np.zeros((len(y), len(labels))), [], time.time()
    oof_by_seed = np.zeros((args.seeds, len(y), len(labels)))
    for test in folds:
        tested, trained = np.where(np.isin(groups, test))[0], np.where(~np.isin(groups, test))[0]
        x = normalised(raw, groups, trained, tested, args)
        probs = 0.0
        for s in range(args.seeds):
            torch.manual_seed(42 + s)
            kwargs = {"width": args.width} if args.model == "vgg4" else {}
            backbone = registry.create_model(args.model, num_classes=len(labels), in_chans=1, **kwargs)
            model = (Unstandardised if args.no_std else Classifier)(backbone, 1, x.shape[-2:])
            model = UtteranceMeanNorm(model) if args.cmn else model
            config = LoopConfig(epochs=args.epochs, patience=None, lr=args.lr, mixup_alpha=args.mixup,
                                accelerated=args.bf16, freq_warp=args.freq_warp,
                                time_warp=args.time_warp, batch_size=args.batch)
            trainer = Trainer(model, Items(x, y, trained), Items(x, y, tested[:8]), config, seed=42 + s,
                              device=torch.device("cpu"))
            trainer.fit()
            oof_by_seed[s, tested] = trainer.predict(Items(x, y, tested))[0]
            probs = probs + oof_by_seed[s, tested]
        oof[tested] = probs / args.seeds
        per_fold.append(round(float(f1_score(y[tested], oof[tested].argmax(1), average="macro")), 3))
        print(test, per_fold[-1], f"{time.time() - started:.0f} s", flush=True)
    pred = oof.argmax(1)
    result = {**{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "pooled_macro_f1": round(float(f1_score(y, pred, average="macro")), 4),
              "accuracy": round(float((pred == y).mean()), 4), "per_fold": per_fold,
              "single_seed_pooled_macro_f1": [round(float(f1_score(y, o.argmax(1), average="macro")), 4)
                                              for o in oof_by_seed],
              "seconds": round(time.time() - started)}
    print(json.dumps(result), flush=True)
    with open(args.scratch / "results.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
