"""Does calibrating to a speaker help, or at least stay out of the way? (docs/CALIBRATION.md)

For the shipped model (default models_onnx/emodb_vgg4.onnx) and each speaker, every clip is
scored (``OnnxClassifier.classify``) uncalibrated, calibrated as before this change (band
moments of every window, pauses included: :func:`before` reimplements the old ``calibrate``) and calibrated as now (``OnnxClassifier.calibrate``: voiced audio only; a
refused calibration leaves the model uncalibrated and is counted). Calibration reads the
speaker's audio only, never labels.

* RAVDESS actors (``ravdess-16``): accuracy over the six emotions EmoDB shares (neutral, happy,
  sad, angry, fearful, disgust -> neutral, happiness, sadness, anger, fear, disgust; calm and
  surprised are left out of the scoring), each actor calibrated on all 60 of its clips.
* EmoDB speakers (``emodb-2s``; the shipped model trained on them all, so this checks that
  pauses do no harm, not how well it generalises), calibrated on the speaker's clips as they
  are, joined with 3 s of digital silence after each, with 3 s of -70 dBFS noise after each,
  and as they are plus one 60 s near-silent file holding a single click (probe D4).

    PYTHONPATH=. nice -n 10 .venv/bin/python scripts/calibration_check.py [--ravdess-only|--emodb-only] [-q]

Each row of the log: correct clips uncalibrated / before / now, the voiced seconds, and how far
each calibration moved from the model's stored statistics (median band mean shift in stored
deviations, median deviation ratio): what the refusal rule (engine/models/calibration.py) reads.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.audio.io import fit_length, load_audio, window_starts  # noqa: E402
from engine.models.calibration import BandMoments, CalibrationRefused, implausibility  # noqa: E402
from engine.models.classifier import OnnxClassifier  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")
RAVDESS_TO_EMODB = {"neutral": "neutral", "happy": "happiness", "sad": "sadness", "angry": "anger",
                    "fearful": "fear", "disgust": "disgust"}
LIMIT = None
EMODB_LABELS = {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness",
                "T": "sadness", "N": "neutral"}


def before(model: OnnxClassifier, clips) -> np.ndarray:
    """The calibration as it was: band moments of every window (hop half a clip, zero-padded)."""
    pooled, n = BandMoments(model.n_bands), model.meta.n_samples
    for samples in clips:
        starts = window_starts(len(samples), n, n // 2)
        pooled.add(model.band_moments(np.stack([fit_length(samples[s : s + n], n) for s in starts])))
    return pooled.stats()


def moved(stats, default) -> str:
    """The median band mean shift (in default deviations) and deviation ratio, for the log."""
    if stats is None or default is None:
        return "-"
    shift = np.median((stats[0] - default[0]) / default[1])
    return f"{shift:+.2f} sd, x{np.median(stats[1] / default[1]):.2f}"


def score(model, clips, labels) -> int:
    return sum(model.labels[int(np.argmax(model.classify(c)))] == y for c, y in zip(clips, labels, strict=True))


def evaluate(model, name, calibration_clips, clips, labels, rows, verbose):
    """One speaker, one calibration material: correct counts uncalibrated / before / now."""
    old = before(model, calibration_clips)
    try:
        now, voiced_s = model.calibrate_voiced(calibration_clips)
        refused = ""
    except CalibrationRefused as exc:
        now, voiced_s, refused = None, 0.0, str(exc)
    row = {"name": name, "n": len(clips), "uncal": score(model, clips, labels),
           "before": score(model.calibrated(old), clips, labels),
           "now": score(model.calibrated(now), clips, labels), "refused": bool(refused),
           "voiced_s": voiced_s, "old_why": implausibility(old, model.default_stats) or ""}
    rows.append(row)
    if verbose:
        print(f"  {name:28s} n={row['n']:3d} uncal {row['uncal']:3d} before {row['before']:3d} now "
              f"{row['now']:3d} voiced {voiced_s:6.1f} s{'  REFUSED: ' + refused if refused else ''}"
              f"  [before {moved(old, model.default_stats)}; now {moved(now, model.default_stats)}]", flush=True)
    return row


def total(rows, key) -> str:
    n = sum(r["n"] for r in rows)
    return f"{sum(r[key] for r in rows) / n:.3f}"


def ravdess(model, verbose) -> list[dict]:
    root = SHARED / "ravdess-16"
    by_actor = defaultdict(list)
    with open(root / "data.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_actor[row["speaker"]].append((root / row["path"], row["label"]))
    rows = []
    for actor in sorted(by_actor)[:LIMIT]:
        audio = [(load_audio(p, model.meta.sample_rate_hz).samples, y) for p, y in by_actor[actor]]
        scored = [(x, RAVDESS_TO_EMODB[y]) for x, y in audio if y in RAVDESS_TO_EMODB]
        evaluate(model, actor, [x for x, _ in audio], [x for x, _ in scored], [y for _, y in scored], rows, verbose)
    return rows


def emodb(model, verbose) -> dict[str, list[dict]]:
    rate = model.meta.sample_rate_hz
    by_speaker = defaultdict(list)
    for path in sorted((SHARED / "emodb-2s" / "wav").glob("*.wav")):
        by_speaker[path.name[:2]].append((load_audio(path, rate).samples, EMODB_LABELS[path.name[5]]))
    rng = np.random.default_rng(0)
    gap = 3 * rate
    noise = (10 ** (-70 / 20) * rng.standard_normal(gap)).astype(np.float32)   # -70 dBFS RMS
    click = np.zeros(60 * rate, np.float32)
    click[30 * rate : 30 * rate + 16] = 0.9
    materials = {
        "as they are": lambda clips: clips,
        "3 s digital silence after each": lambda clips: [np.concatenate([np.r_[c, np.zeros(gap, np.float32)] for c in clips])],
        "3 s -70 dBFS noise after each": lambda clips: [np.concatenate([np.r_[c, noise] for c in clips])],
        "plus a 60 s file with one click": lambda clips: [*clips, click],
    }
    out = {}
    for material, make in materials.items():
        if verbose:
            print(f"EmoDB, calibrated on the clips {material}:", flush=True)
        rows = out[material] = []
        for speaker in sorted(by_speaker)[:LIMIT]:
            clips = [x for x, _ in by_speaker[speaker]]
            evaluate(model, f"speaker {speaker}", make(clips), clips, [y for _, y in by_speaker[speaker]], rows, verbose)
    return out


def line(name, rows) -> str:
    refused = sum(r["refused"] for r in rows)
    return (f"| {name} | {sum(r['n'] for r in rows)} | {total(rows, 'uncal')} | {total(rows, 'before')} | "
            f"{total(rows, 'now')} | {refused} of {len(rows)} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(ROOT / "models_onnx" / "emodb_vgg4.onnx"))
    p.add_argument("--ravdess-only", action="store_true")
    p.add_argument("--emodb-only", action="store_true")
    p.add_argument("--no-refuse", action="store_true", help="never refuse an implausible calibration")
    p.add_argument("--hangover", type=float, help="(tuning) the gate's hangover in seconds")
    p.add_argument("--speakers", type=int, help="(tuning) only the first N speakers/actors")
    p.add_argument("-q", "--quiet", action="store_true", help="only the table")
    args = p.parse_args(argv)
    if args.hangover is not None:
        import engine.audio.voicing as voicing

        voicing.HANGOVER_S = args.hangover
    global LIMIT
    LIMIT = args.speakers
    model = OnnxClassifier.load(args.model, sandbox=False)
    if args.no_refuse:
        model.refuse_implausible = False
    table = ["| data (speakers' own audio) | clips scored | uncalibrated | calibrated before | "
             "calibrated now | refused now |", "|---|---|---|---|---|---|"]
    if not args.emodb_only:
        if not args.quiet:
            print("RAVDESS actors (accuracy over the six shared emotions):", flush=True)
        table.append(line("RAVDESS actors 1-16, all clips", ravdess(model, not args.quiet)))
    if not args.ravdess_only:
        for material, rows in emodb(model, not args.quiet).items():
            table.append(line(f"EmoDB 8 speakers, clips {material}", rows))
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
