"""Headless commands that need only the engine: ``classify`` and ``synth``."""

from __future__ import annotations

import json
import sys

from engine.classify import classify_files
from engine.errors import EarmarkError, ModelLoadError
from engine.model import OnnxClassifier


def run_classify(args) -> int:
    if getattr(args, "segments", False):
        return _run_segments(args)
    try:
        model = OnnxClassifier.load(args.model)
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results = classify_files(model, args.files)
    for result in results:
        if result.error:
            print(f"error: {result.error}", file=sys.stderr)
        elif result.warning:
            print(f"warning: {result.warning}", file=sys.stderr)
    if args.json:
        doc = {
            "model": str(model.path),
            "labels": model.labels,
            "results": [r.to_json(args.top) for r in results],
        }
        print(json.dumps(doc, indent=2))
    else:
        for result in results:
            if result.ok:
                tops = ", ".join(f"{label} {p:.2f}" for label, p in result.top(args.top))
                print(f"{result.path}\t{tops}")
    failed = sum(not r.ok for r in results)
    if failed:
        print(f"{failed} of {len(results)} file(s) could not be classified", file=sys.stderr)
    return 1 if failed else 0


def _run_segments(args) -> int:
    """``--segments``: segment tables per file, streamed (engine.segments_cli)."""
    from engine.segments_cli import run_segments

    return run_segments(args)


def run_synth(args) -> int:
    from engine import synth

    kwargs = {"seed": args.seed}
    if args.seconds is not None:
        kwargs["seconds"] = args.seconds
    if args.sample_rate is not None:
        kwargs["sample_rate_hz"] = args.sample_rate
    try:
        if args.layout == "esc50":
            if args.classes is not None:
                kwargs["n_classes"] = args.classes
            if args.clips_per_class is not None:
                kwargs["clips_per_class"] = args.clips_per_class
            out = synth.write_esc50(args.out, **kwargs)
        else:
            if args.speakers is not None:
                kwargs["n_speakers"] = args.speakers
            out = synth.write_emodb(args.out, **kwargs)
    except (ValueError, EarmarkError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote a synthetic {args.layout} data set to {out}")
    return 0
