"""``main.py queue INDEX`` (what to label next) and ``main.py label INDEX --row N --label X`` (a window
labelled into its recording's sidecar): the shell's half of the labelling loop (docs/INDEX.md)."""

from __future__ import annotations

import argparse
import sys

from engine.textsafe import printable


def add_queue_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("index", help="an index folder (what `index` printed)")
    p.add_argument("--top", type=int, default=20, help="how many windows to list (default 20)")
    p.add_argument("--measure", choices=("margin", "entropy"), default="margin",
                   help="the model's uncertainty: 1 - the gap between its two best classes, or the entropy")
    p.add_argument("--per-recording", type=int, default=None,
                   help="at most this many windows of one recording (default: an even share of the list)")


def add_label_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("index", help="an index folder (what `index` printed)")
    p.add_argument("--row", type=int, action="append", default=[], metavar="N",
                   help="a window by its row, as `queue` lists it (repeatable)")
    p.add_argument("--at", action="append", default=[], metavar="REC:START-END",
                   help="a range of a recording of the indexed folder, in seconds (repeatable)")
    p.add_argument("--label", required=True, metavar="NAME",
                   help="the label to give; required, no default (background marks a window as none of the sounds)")


def run_queue(args: argparse.Namespace) -> int:
    from engine.errors import EarmarkError
    from engine.index.labelling import labelled_rows
    from engine.index.queue import label_queue
    from engine.index.search import Index

    try:
        index = Index(args.index)
        items = label_queue(index, args.top, measure=args.measure, per_recording=args.per_recording,
                            skip_rows=labelled_rows(index).keys())
    except (EarmarkError, ValueError) as exc:
        print(f"error: {printable(exc)}", file=sys.stderr)
        return 2
    print("row\trecording\tstart_s\tend_s\tuncertainty\tlabel")
    for item in items:
        print(f"{item.row}\t{printable(item.recording)}\t{item.start_s:.2f}\t{item.end_s:.2f}\t"
              f"{item.uncertainty:.4f}\t{printable(item.label)}")
    return 0


def run_label(args: argparse.Namespace) -> int:
    from engine.commands.index import label_windows, parse_like
    from engine.errors import EarmarkError
    from engine.index.labelling import window_of_row
    from engine.index.search import Index

    if not (args.row or args.at):
        print("error: name the windows to label with --row N or --at REC:START-END", file=sys.stderr)
        return 2
    try:
        index = Index(args.index)
        windows = [window_of_row(index, row) for row in args.row]
        for text in args.at:
            path, start_s, end_s = parse_like(text, "--at")
            name = index.recording_name(path)
            if name is None:
                raise EarmarkError(f"--at {text}: {path} is not a recording of the index of {index.folder}")
            windows.append((name, start_s, end_s))
    except (EarmarkError, ValueError) as exc:
        print(f"error: {printable(exc)}", file=sys.stderr)
        return 2
    return label_windows(index, windows, args.label)
