"""``classify MODEL FILE_OR_FOLDER... --segments --format csv|audacity|raven --out DIR``."""

from __future__ import annotations

import argparse
import math
import sys

FORMATS = ("csv", "audacity", "raven")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--segments", action="store_true",
                   help="write one segment table per file (streams long recordings from disk)")
    p.add_argument("--format", choices=FORMATS, default="csv", help="segment table format (default csv)")
    p.add_argument("--out", default=None, help="folder for the segment tables (with --segments)")
    p.add_argument("--min-confidence", type=float, default=0.5,
                   help="a window counts for a class from this probability on (default 0.5)")
    p.add_argument("--class-threshold", action="append", default=[], metavar="LABEL=P",
                   help="a class's own threshold, overriding --min-confidence (repeatable)")
    p.add_argument("--skip-label", action="append", default=[], metavar="LABEL",
                   help="never make segments of this class, e.g. background (repeatable)")
    p.add_argument("--min-duration", type=float, default=0.0, help="drop segments shorter than this (s)")
    p.add_argument("--merge-gap", type=float, default=0.0, help="merge segments of a class this close (s)")
    p.add_argument("--hop", type=float, default=None, help="seconds between windows (default: half a clip)")
    p.add_argument("--force", action="store_true",
                   help="replace tables at the output paths that Earmark did not write (each is kept "
                        "beside it as NAME.backup-TIME.txt); without it such a file is left alone and reported")


def run_segments(args: argparse.Namespace) -> int:
    from engine.classify.recordings import segment_files
    from engine.classify.segments import SegmentParams
    from engine.errors import ModelLoadError
    from engine.models.classifier import OnnxClassifier
    from engine.textsafe import printable

    if not args.out:
        print("error: --segments needs --out DIR for the tables", file=sys.stderr)
        return 2
    problem = check_numbers(args)  # before the model is loaded or a file read
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        params = SegmentParams(threshold=args.min_confidence, class_thresholds=_class_thresholds(args.class_threshold),
                               min_duration_s=args.min_duration, merge_gap_s=args.merge_gap,
                               skip_labels=tuple(args.skip_label))
        model = OnnxClassifier.load(args.model)
        params.thresholds(model.labels)  # unknown class names are refused before any file is read
    except (ValueError, ModelLoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def report(result) -> None:
        if result.error:
            print(f"error: {printable(result.error)}", file=sys.stderr)
        else:
            print(f"{printable(result.path)}\t{result.segments} segment(s)\t{printable(result.table)}", flush=True)
            if result.warning:
                print(f"warning: {printable(result.warning)}", file=sys.stderr)

    try:
        skipped: list[str] = []
        results = segment_files(model, args.files, args.out, args.format, params, hop_s=args.hop,
                                force=args.force, skipped=skipped, on_result=report)
    except KeyboardInterrupt:
        print("interrupted: the tables written so far are kept", file=sys.stderr)
        return 130
    for line in skipped:
        print(f"warning: {printable(line)}", file=sys.stderr)
    failed = sum(r.error is not None for r in results)
    if not results:
        print("error: no audio files found", file=sys.stderr)
        return 1
    if failed:
        print(f"{failed} of {len(results)} file(s) could not be classified", file=sys.stderr)
    return 1 if failed else 0


MAX_SPAN_S = 24 * 3600.0


def check_numbers(args: argparse.Namespace) -> str | None:
    """Why a numeric option is unusable (None when all are fine), naming the option."""
    from engine.classify.recordings import MAX_HOP_S, MIN_HOP_S

    if args.hop is not None and not (math.isfinite(args.hop) and MIN_HOP_S <= args.hop <= MAX_HOP_S):
        return f"--hop {args.hop}: the seconds between windows must lie between {MIN_HOP_S} and {MAX_HOP_S:g}"
    if not (math.isfinite(args.min_confidence) and 0.0 <= args.min_confidence <= 1.0):
        return f"--min-confidence {args.min_confidence}: a probability between 0 and 1"
    for flag, value in (("--min-duration", args.min_duration), ("--merge-gap", args.merge_gap)):
        if not (math.isfinite(value) and 0.0 <= value <= MAX_SPAN_S):
            return f"{flag} {value}: seconds between 0 and {MAX_SPAN_S:g}"
    return None


def _class_thresholds(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        label, sep, value = item.rpartition("=")
        try:
            out[label] = float(value)
            if not math.isfinite(out[label]):
                raise ValueError
        except ValueError:
            raise ValueError(f"--class-threshold {item!r}: expected LABEL=P, e.g. song=0.7") from None
        if not sep or not label:
            raise ValueError(f"--class-threshold {item!r}: expected LABEL=P, e.g. song=0.7")
    return out
