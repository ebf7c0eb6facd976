"""Earmark's entry point.

No arguments opens the app; sub-commands run headless jobs (see docs/ARCHITECTURE.md):

    python main.py                          # open the app
    python main.py FILE...                  # open the app with audio files, a data set folder or a model
    python main.py classify MODEL FILE...   # labels for files (--json for machines)
    python main.py train --data DIR --layout esc50 --model cnn --seeds 42 123 999 --out RUN_DIR
    python main.py audit --data DIR --layout emodb --out suspects.csv
    python main.py synth --layout esc50 --out DIR
    python main.py --self-test              # classify a bundled clip headless; exit 0 when it works
"""

from __future__ import annotations

import argparse
import os
import sys

LAYOUT_CHOICES = ("esc50", "emodb", "folders", "csv")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="earmark", description="Sound and speech-emotion workbench.")
    parser.add_argument("--self-test", action="store_true", help="classify a bundled clip headless and exit")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("classify", help="label audio files with an ONNX model")
    from engine.cli import add_classify_arguments

    add_classify_arguments(p)

    p = sub.add_parser("train", help="train, evaluate and export a model")
    p.add_argument("--data", required=True, help="data set folder (or CSV file for --layout csv)")
    p.add_argument("--layout", choices=LAYOUT_CHOICES, help="data layout (detected when omitted)")
    p.add_argument("--model", default="cnn", help="backbone name (see --list-models)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seeds", type=int, nargs="+", default=[42, 123, 999])
    p.add_argument("--out", required=True, help="run folder to write")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--sample-rate", type=int, default=None, help="model sample rate in Hz")
    p.add_argument("--clip-seconds", type=float, default=None, help="model input length in seconds")
    p.add_argument("--n-mels", type=int, default=64)
    p.add_argument("--input-size", type=int, nargs=2, default=None, metavar=("H", "W"))
    p.add_argument("--variants", nargs="*", default=None,
                   help="cached augmentation variants per clip (noise pitch_shift time_stretch reverb gain)")
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--val-groups", nargs="*", default=None, help="explicit validation groups (e.g. speakers)")
    p.add_argument("--val-fold", type=int, default=None, help="ESC-50/CSV fold used for validation")
    p.add_argument("--patience", type=int, default=8, help="early-stopping patience in epochs")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    p.add_argument("--pretrained", action="store_true", help="start from ImageNet weights")
    p.add_argument("--weights", default=None, help="local ImageNet weights file")
    p.add_argument("--attn", choices=("se", "cbam"), default=None)
    p.add_argument("--workers", type=int, default=None, help="processes for data preparation")
    p.add_argument("--resume", action="store_true", help="resume from the run folder's checkpoints")
    p.add_argument("--cache-dir", default=None, help="feature cache folder (default: the user cache folder)")
    p.add_argument("--min-epochs", type=int, default=None, help="early stopping engages from here (default: half)")
    p.add_argument("--split-seed", type=int, default=None, help="seed of the split (default: the first seed)")
    p.add_argument("--weight-decay", type=float, default=None)
    p.add_argument("--label-smoothing", type=float, default=None)
    p.add_argument("--mixup", type=float, default=None, help="mixup alpha (0 turns it off)")
    p.add_argument("--n-fft", type=int, default=None)
    p.add_argument("--loader-workers", type=int, default=None)
    p.add_argument("--list-models", action="store_true", help=argparse.SUPPRESS)

    p = sub.add_parser("audit", help="rank clips by how likely their label is wrong")
    p.add_argument("--data", required=True)
    p.add_argument("--layout", choices=LAYOUT_CHOICES)
    p.add_argument("--out", required=True, help="CSV of suspects, most suspect first")
    p.add_argument("--model", default=None, help="score with this ONNX model instead of cross-validation")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("synth", help="write a deterministic synthetic data set")
    p.add_argument("--layout", choices=("esc50", "emodb"), required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--classes", type=int, default=None, help="ESC-50: number of classes (default 10)")
    p.add_argument("--clips-per-class", type=int, default=None)
    p.add_argument("--speakers", type=int, default=None, help="EmoDB: number of speakers")
    p.add_argument("--seconds", type=float, default=None)
    p.add_argument("--sample-rate", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    return parser


def _paths_to_open(parser: argparse.ArgumentParser, argv: list[str]) -> list[str] | None:
    """``earmark FILE...``: the paths to open in the app, when the first word is no command."""
    commands = {c for a in parser._actions if isinstance(a, argparse._SubParsersAction) for c in a.choices}
    if argv and not argv[0].startswith("-") and argv[0] not in commands:
        return argv
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    paths = _paths_to_open(parser, argv)
    if paths is not None:
        missing = [p for p in paths if not os.path.exists(p)]
        if missing:
            print(f"earmark: no such file, folder or command: {missing[0]}", file=sys.stderr)
            return 2
        from gui.app import main as app_main

        return app_main(paths=paths)
    args = parser.parse_args(argv)
    if args.self_test:
        from gui.selftest import self_test

        return self_test()
    if args.command is None:
        from gui.app import main as app_main

        return app_main()
    if args.command in ("classify", "synth"):
        from engine import cli
    else:
        try:
            from trainer import cli  # needs the `train` extra (torch)
        except ImportError as exc:
            print(f"earmark {args.command}: training needs the `train` extra (PyTorch): "
                  f'pip install "earmark[train]", or run ./earmark ({exc})', file=sys.stderr)
            return 2
    return getattr(cli, f"run_{args.command}")(args)


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # model vetting runs in a spawned child (engine.vet), also when frozen
    sys.exit(main())
