"""``main.py clips``: cut labelled regions of recordings into a CSV-layout data set.

Kept apart from :mod:`engine.datasets.from_regions` so that building the command line imports nothing heavy.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--audio", nargs="+", default=None, help="recordings (WAV, FLAC, OGG); or --index")
    p.add_argument("--labels", nargs="+", default=None,
                   help="label files: Audacity .txt, Raven selection tables, CSV, Sonic Visualiser .svl, "
                        "Label Studio .json, or Earmark region sidecars; or --index")
    p.add_argument("--index", default=None,
                   help="instead of --audio and --labels: every recording of this index's folder that has "
                        "labelled regions (what `similar --label` and `label` wrote)")
    p.add_argument("--out", required=True, help="folder for clips/ and data.csv")
    p.add_argument("--padding", type=float, default=0.0, help="seconds added before and after each region")
    p.add_argument("--background", default=None, metavar="LABEL",
                   help="also cut unlabelled stretches into clips of this class (e.g. background)")
    p.add_argument("--background-seconds", type=float, default=None,
                   help="length of a background clip (default: the median region length)")
    p.add_argument("--force", action="store_true",
                   help="replace files in --out that Earmark did not write, such as an existing data.csv "
                        "(each is kept beside it as NAME.backup-TIME); without it nothing is written and the file is named")


def run_clips(args: argparse.Namespace) -> int:
    from engine.datasets.from_regions import make_clips
    from engine.errors import EarmarkError
    from engine.textsafe import printable

    if args.index is not None and (args.audio or args.labels):
        print("error: give --index, or --audio with --labels, not both", file=sys.stderr)
        return 2
    if args.index is None and not (args.audio and args.labels):
        print("error: --audio and --labels are required (or --index INDEX)", file=sys.stderr)
        return 2
    try:
        if args.index is not None:
            from pathlib import Path

            from engine.index.labelling import DatasetRequest, dataset_job

            result = dataset_job(DatasetRequest(Path(args.index), Path(args.out), padding_s=args.padding,
                                                background=args.background, force=args.force))
        else:
            result = make_clips(args.audio, args.labels, args.out, padding_s=args.padding,
                                background=args.background, background_s=args.background_seconds,
                                force=args.force)
    except EarmarkError as exc:
        print(f"error: {printable(exc)}", file=sys.stderr)
        return 2
    for note in result.notes:
        print(f"warning: {printable(note)}", file=sys.stderr)
    counts = ", ".join(f"{label} {n}" for label, n in sorted(result.counts.items()))
    where = printable(result.csv_path)
    print(f"wrote {result.n_clips} clips from {len(result.groups)} recording(s) ({printable(counts)}) to {where}")
    print(f"train on it: python main.py train --data {where} --layout csv --out RUN_DIR")
    return 0
