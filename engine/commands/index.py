"""``main.py index FOLDER --model M [--out DIR]`` and ``main.py similar INDEX --like REC:START-END [--label NAME]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.textsafe import printable


def add_index_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", help="folder of recordings, walked recursively")
    p.add_argument("--model", required=True, help="ONNX model: its windows, scores and embedding")
    p.add_argument("--out", default=None,
                   help="index folder (default: under the user cache, named by folder, model and settings)")
    p.add_argument("--hop", type=float, default=None, help="seconds between windows (default: half a window)")
    p.add_argument("--embedding", choices=("auto", "model+bands", "model", "bands"), default="auto",
                   help="the model's embedding output joined with each window's log-mel band profile (model+bands), "
                        "the embedding alone (model), or log-mel band statistics (bands); auto: model+bands if the "
                        "model has an embedding output, else bands (resuming an index: the kind it was made with)")


def add_similar_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("index", help="an index folder (what `index` printed)")
    p.add_argument("--like", action="append", required=True, metavar="REC:START-END",
                   help="an example: a recording of the indexed folder (or any audio file, embedded now) "
                        "and a range in seconds (repeatable)")
    p.add_argument("--top", type=int, default=20, help="how many windows to list (default 20)")
    p.add_argument("--combine", choices=("fit", "mean", "max"), default="fit",
                   help="how the examples rank windows: a linear scorer fitted to their windows against the "
                        "index's (fit, the default: best on the benchmark and on held-out sounds, docs/INDEX.md), "
                        "the mean of their cosine similarities, or the best one")
    p.add_argument("--standardise", action="store_true",
                   help="with --combine mean or max: z-score every dimension over the index before the cosine "
                        "(docs/INDEX.md)")
    p.add_argument("--overlapping", action="store_true",
                   help="list overlapping windows of one place too (default: one hit per place)")
    p.add_argument("--label", default=None, metavar="NAME",
                   help="also label every listed window NAME: a region in its recording's sidecar, as the "
                        "Annotate tab saves it (default: list only)")


def parse_like(text: str, option: str = "--like") -> tuple[str, float, float]:
    """``REC.wav:12.5-15`` -> ("REC.wav", 12.5, 15.0); ValueError with the expected form."""
    path, sep, span = text.rpartition(":")
    start, dash, end = span.partition("-")
    try:
        if not (sep and dash and path):
            raise ValueError
        begin, finish = float(start), float(end)
    except ValueError:
        raise ValueError(f"{option} {text!r}: expected RECORDING:START-END in seconds, e.g. rec.wav:12.5-15") from None
    if not 0 <= begin < finish:
        raise ValueError(f"{option} {text!r}: the range must start at 0 s or later and end after it starts")
    return path, begin, finish


def run_index(args: argparse.Namespace) -> int:
    from engine.errors import EarmarkError
    from engine.index.build import IndexRequest, index_job
    from engine.jobs import Cancelled, CancelToken

    def report(progress) -> None:
        for warning in progress.warnings:
            print(f"warning: {printable(warning.message)}", file=sys.stderr)
        if progress.message and progress.fraction is not None:
            print(f"\r{100 * progress.fraction:5.1f} %  {printable(progress.message)[:60]:<60}",
                  end="", file=sys.stderr, flush=True)

    request = IndexRequest(folder=Path(args.folder), model_path=Path(args.model),
                           out=Path(args.out) if args.out else None, hop_s=args.hop, embedding=args.embedding)
    try:
        result = index_job(request, on_progress=report, cancel=CancelToken())
    except KeyboardInterrupt:
        print("\ninterrupted: the recordings finished are kept; run again to resume", file=sys.stderr)
        return 130
    except Cancelled:
        return 130
    except (EarmarkError, ValueError) as exc:
        print(f"\nerror: {printable(exc)}", file=sys.stderr)
        return 2
    print(file=sys.stderr)
    print(f"{result.out}\n{result.recordings} recording(s): {result.indexed} indexed, {result.skipped} unchanged "
          f"(skipped), {len(result.failed)} unreadable, {result.removed} removed; "
          f"{result.windows_embedded} window(s) embedded now, {result.rows} in the index")
    return 1 if result.failed and not result.rows else 0


def run_similar(args: argparse.Namespace) -> int:
    from engine.errors import EarmarkError
    from engine.index.fewshot import fit_examples
    from engine.index.search import Index, example_vectors, similar

    try:
        examples = [parse_like(text) for text in args.like]
        if args.combine == "fit" and args.standardise:
            raise ValueError("--standardise needs --combine mean or max (the default, fit, weighs each "
                             "dimension itself)")
        index = Index(args.index)
        scorer = fit_examples(index, examples) if args.combine == "fit" else None
        queries = scorer.query if scorer else example_vectors(index, examples)
        hits = similar(index, queries, top=args.top, combine="mean" if scorer else args.combine,
                       exclude=examples, distinct=not args.overlapping, standardise=args.standardise)
    except (EarmarkError, ValueError) as exc:
        print(f"error: {printable(exc)}", file=sys.stderr)
        return 2
    print(f"recording\tstart_s\tend_s\t{'score' if scorer else 'similarity'}\tlabel")
    for hit in hits:
        value = scorer.score(hit.similarity) if scorer else hit.similarity
        print(f"{printable(hit.recording)}\t{hit.start_s:.2f}\t{hit.end_s:.2f}\t{value:.4f}\t{printable(hit.label)}")
    if args.label is not None:
        return label_windows(index, [(h.recording, h.start_s, h.end_s) for h in hits], args.label)
    return 0


def label_windows(index, windows: list[tuple[str, float, float]], label: str) -> int:
    """Write each (recording, start, end) as a region labelled ``label`` (one change per recording:
    :func:`engine.index.labelling.label_windows`); say how many on standard error."""
    from engine.errors import EarmarkError
    from engine.index.labelling import label_windows as label_all

    try:
        label_all(index, windows, label)
    except (EarmarkError, OSError) as exc:
        print(f"error: {printable(exc)}", file=sys.stderr)
        return 2
    recordings = len({w[0] for w in windows})
    print(f"labelled {len(windows)} window(s) of {recordings} recording(s) {printable(label)!r} "
          f"(regions in each recording's .earmark-regions.json)", file=sys.stderr)
    return 0
