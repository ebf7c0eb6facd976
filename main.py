"""Earmark's entry point.

No arguments opens the app; sub-commands run headless jobs (see docs/ARCHITECTURE.md):

    python main.py                          # open the app
    python main.py FILE...                  # open the app with audio files, a data set folder or a model
    python main.py classify MODEL FILE...   # labels for files (--json for machines)
    python main.py train --data DIR --layout esc50 --model cnn --seeds 42 123 999 --out RUN_DIR
    python main.py audit --data DIR --layout emodb --out suspects.csv
    python main.py synth --layout esc50 --out DIR
    python main.py train --data DIR --folds 4 --out RUN_DIR  # k-fold cross-validation, as the wizard's
    python main.py train --list-models      # every backbone
    python main.py clips --audio REC.wav --labels REC.txt --out DIR   # a data set from annotated regions
    python main.py index FOLDER --model M.onnx --out INDEX    # embed and score every window (docs/INDEX.md)
    python main.py similar INDEX --like REC.wav:2-2.5 --label NAME    # more like this; label the hits
    python main.py queue INDEX --top 20     # what to label next
    python main.py label INDEX --row N --label NAME           # one window labelled (background: none)
    python main.py clips --index INDEX --out DIR              # the labelled windows as a data set
    python main.py --self-test              # classify a bundled clip headless; exit 0 when it works
    python main.py --version
"""

from __future__ import annotations

import argparse
import os
import sys

from engine.commands import clips as clips_cli
from engine.commands import index as index_cli
from engine.commands import labels as labels_cli
from engine.commands import segments as segments_cli

LAYOUT_CHOICES = ("esc50", "emodb", "folders", "csv")


class _HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default (unless the help already says it)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default is argparse.SUPPRESS or not action.option_strings:
            return text
        if isinstance(action, (argparse._StoreTrueAction, argparse._VersionAction, argparse._HelpAction)):
            return text if not isinstance(action, argparse._StoreTrueAction) else f"{text} (default: off)"
        default = "none" if action.default is None else action.default
        if isinstance(default, (list, tuple)):
            default = " ".join(str(v) for v in default) or "none"
        return f"{text} (default: {default})"


def _audit_defaults(load: bool) -> dict:
    """``trainer.api.AuditRequest``'s defaults; {} when not loaded or not installed."""
    if not load:
        return {}
    try:
        import dataclasses

        from trainer.api import AuditRequest
    except ImportError:
        return {}
    return {f.name: f.default for f in dataclasses.fields(AuditRequest) if f.default is not dataclasses.MISSING}


def _train_defaults() -> dict:
    """The recipe's defaults (trainer/recipe.py, torch-free); {} where the trainer is not installed."""
    try:
        from trainer.recipe import TrainRequest
    except ImportError:
        return {}
    return TrainRequest.defaults()


def _version() -> str:
    from engine import __version__

    return __version__


def _add_train_parser(sub, with_defaults: bool) -> None:
    d = _train_defaults() if with_defaults else {}
    p = sub.add_parser("train", help="train, evaluate and export a model", formatter_class=_HelpFormatter,
                       description="Train, evaluate and export a model. Defaults are the recipe's "
                                   "(trainer/recipe.py), shared with the training wizard.")
    p.add_argument("--data", help="data set folder (or CSV file for --layout csv); required to train, no default")
    p.add_argument("--layout", choices=LAYOUT_CHOICES, help="data layout (default: detected from the folder)")
    p.add_argument("--model", default=d.get("model"), help="backbone name (see --list-models)")
    p.add_argument("--list-models", action="store_true", help="list every backbone and exit (needs no --data)")
    p.add_argument("--out", help="run folder to write; required to train, no default")
    p.add_argument("--epochs", type=int, default=d.get("epochs"), help="maximum epochs per seed")
    p.add_argument("--seeds", type=int, nargs="+", default=list(d.get("seeds", ())),
                   help="training seeds; results are mean ± std over them")
    p.add_argument("--folds", type=int, default=None,
                   help="nested cross-validation with K grouped folds, as the wizard's k-fold: every clip "
                        "tested once, figures pooled, the shipped model refit on every clip "
                        "(default: one three-way hold-out split)")
    p.add_argument("--refit-folds", action=argparse.BooleanOptionalAction, default=d.get("refit_folds"),
                   help="cross-validation: test each fold with a refit on all its non-test groups for the epochs "
                        "its validation side chose, as the shipped model is made (twice the training)")
    p.add_argument("--refit", action=argparse.BooleanOptionalAction, default=d.get("refit"),
                   help="hold-out: ship a model refit on every clip (training, validation and test) for the "
                        "epochs and seed validation chose; the figures stay the held-out model's "
                        "(holdout_model.onnx). --no-refit ships the held-out model itself (half the training)")
    p.add_argument("--cv-by", choices=("group", "fold"), default=d.get("cv_by"),
                   help="cross-validation folds: grouped k-fold, or the data set's own folds")
    p.add_argument("--batch-size", type=int, default=d.get("batch_size"), help="clips per training step")
    p.add_argument("--lr", type=float, default=d.get("lr"), help="peak learning rate (AdamW, cosine)")
    p.add_argument("--weight-decay", type=float, default=d.get("weight_decay"), help="AdamW weight decay")
    p.add_argument("--label-smoothing", type=float, default=d.get("label_smoothing"), help="label smoothing")
    p.add_argument("--mixup", type=float, default=d.get("mixup_alpha"), help="mixup alpha (0 turns it off)")
    p.add_argument("--ema", type=float, default=d.get("ema_decay"),
                   help="weight averaging: decay of the per-step moving average (0 turns it off)")
    p.add_argument("--time-shift", type=float, default=d.get("time_shift"),
                   help="largest on-the-fly roll of a training example, as a share of its window")
    p.add_argument("--freq-warp", type=float, default=d.get("freq_warp"),
                   help="largest on-the-fly rescaling of a training example's mel axis (vocal tract length)")
    p.add_argument("--time-warp", type=float, default=d.get("time_warp"),
                   help="largest on-the-fly rescaling of a training example's time axis (tempo)")
    p.add_argument("--speaker-norm", action=argparse.BooleanOptionalAction, default=None,
                   help="z-score each mel band by the statistics of the clip's speaker instead of standardising "
                        "each window (default: on when every clip names its speaker, e.g. EmoDB)")
    p.add_argument("--patience", type=int, default=d.get("patience"),
                   help="early stopping: stop after this many epochs without a better validation loss and keep "
                        "the best epoch (default: off, the whole schedule runs and its last averaged weights "
                        "are kept)")
    p.add_argument("--min-epochs", type=int, default=None,
                   help="early stopping engages from this epoch (default: half the epochs)")
    p.add_argument("--sample-rate", type=int, default=None,
                   help="model sample rate in Hz (default: the clips' rate, at most 16000)")
    p.add_argument("--clip-seconds", type=float, default=None,
                   help="model input length in seconds (default: the 95th percentile of the clips' lengths, at most 5 s; "
                        "longer clips are cut into windows whose predictions are averaged)")
    p.add_argument("--n-mels", type=int, default=d.get("n_mels"), help="mel bands of the frontend")
    p.add_argument("--n-fft", type=int, default=None, help="STFT size (default: about 32 ms at the sample rate)")
    p.add_argument("--input-size", type=int, nargs=2, default=None, metavar=("H", "W"),
                   help="backbone input size (default: from the model and the clip length)")
    p.add_argument("--variants", nargs="*", default=None,
                   help="cached augmentation variants per clip: noise pitch_shift time_stretch reverb gain "
                        "(default: none)")
    p.add_argument("--test-fraction", type=float, default=d.get("test_fraction"),
                   help="share of the groups held out for testing (reported only, chooses nothing)")
    p.add_argument("--test-groups", nargs="*", default=None,
                   help="explicit test groups, e.g. speakers (default: chosen by the split)")
    p.add_argument("--test-fold", type=int, default=None,
                   help="ESC-50/CSV fold used for testing (default: the last fold, where the data has folds)")
    p.add_argument("--val-fraction", type=float, default=d.get("val_fraction"),
                   help="share of the groups held out for validation (chooses the epoch and the seed)")
    p.add_argument("--val-groups", nargs="*", default=None,
                   help="explicit validation groups, e.g. speakers (default: chosen by the split)")
    p.add_argument("--val-fold", type=int, default=None,
                   help="ESC-50/CSV fold used for validation (default: groups drawn from the other folds)")
    p.add_argument("--split-seed", type=int, default=d.get("split_seed"),
                   help="seed of the split and of the cached variants' draws")
    p.add_argument("--device", default=d.get("device"), help="auto, cpu, cuda or mps")
    p.add_argument("--pretrained", action="store_true", help="start from local ImageNet weights")
    p.add_argument("--weights", default=None, help="local ImageNet weights file (default: torchvision's cache)")
    p.add_argument("--attn", choices=("se", "cbam"), default=None, help="attention variant (default: none)")
    p.add_argument("--workers", type=int, default=None,
                   help="processes for data preparation (default: from the data set size and the cores)")
    p.add_argument("--loader-workers", type=int, default=d.get("loader_workers"), help="DataLoader worker processes")
    p.add_argument("--resume", action="store_true",
                   help="resume from the run folder's checkpoints; refused when the settings differ")
    p.add_argument("--cache-dir", default=None,
                   help="feature cache folder (default: $EARMARK_CACHE_DIR or the user cache folder)")


def build_parser(*, train_defaults: bool = True) -> argparse.ArgumentParser:
    """The command line. ``train_defaults=False`` leaves the trainer unimported (the recipe's
    defaults live in trainer/recipe.py and trainer/api.py); ``main`` loads them only for
    ``train`` and ``audit``."""
    parser = argparse.ArgumentParser(prog="earmark", description="Sound and speech-emotion workbench.",
                                     formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"earmark {_version()}",
                        help="print the version and exit")
    parser.add_argument("--self-test", action="store_true", help="classify a bundled clip headless and exit")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("classify", help="label audio files with an ONNX model", formatter_class=_HelpFormatter)
    from engine.commands.classify import add_classify_arguments

    add_classify_arguments(p)
    segments_cli.add_arguments(p)

    _add_train_parser(sub, train_defaults)

    p = sub.add_parser("audit", help="rank clips by how likely their label is wrong", formatter_class=_HelpFormatter)
    p.add_argument("--data", required=True, help="data set folder (or CSV file for --layout csv)")
    p.add_argument("--layout", choices=LAYOUT_CHOICES, help="data layout (default: detected from the folder)")
    p.add_argument("--out", required=True, help="CSV of suspects to write, most suspect first")
    p.add_argument("--model", default=None,
                   help="score with this ONNX model instead of cross-validation (default: cross-validation)")
    a = _audit_defaults(train_defaults)
    p.add_argument("--folds", type=int, default=a.get("folds"), help="grouped cross-validation folds")
    p.add_argument("--seed", type=int, default=a.get("seed"), help="seed of the folds and the model")

    p = sub.add_parser("synth", help="write a deterministic synthetic data set", formatter_class=_HelpFormatter)
    p.add_argument("--layout", choices=("esc50", "emodb"), required=True, help="data layout to write")
    p.add_argument("--out", required=True, help="folder to write the data set into")
    p.add_argument("--classes", type=int, default=None, help="ESC-50: number of classes (default: 10)")
    p.add_argument("--clips-per-class", type=int, default=None,
                   help="clips per class (default: the layout's own)")
    p.add_argument("--speakers", type=int, default=None, help="EmoDB: number of speakers (default: the layout's own)")
    p.add_argument("--seconds", type=float, default=None, help="clip length (default: the layout's own)")
    p.add_argument("--sample-rate", type=int, default=None, help="sample rate in Hz (default: the layout's own)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic sounds")

    clips_cli.add_arguments(sub.add_parser("clips", help="cut labelled regions of recordings into a data set",
                                           formatter_class=_HelpFormatter))
    index_cli.add_index_arguments(sub.add_parser(
        "index", help="embed and score every window of a folder of recordings (resumable)",
        formatter_class=_HelpFormatter))
    index_cli.add_similar_arguments(sub.add_parser(
        "similar", help="the windows of an index most like an example", formatter_class=_HelpFormatter))
    labels_cli.add_queue_arguments(sub.add_parser(
        "queue", help="the windows of an index to label next (the model's least certain, spread out)",
        formatter_class=_HelpFormatter))
    labels_cli.add_label_arguments(sub.add_parser(
        "label", help="label windows of an index (regions in their recordings' sidecars)",
        formatter_class=_HelpFormatter))
    return parser


def _paths_to_open(parser: argparse.ArgumentParser, argv: list[str]) -> list[str] | None:
    """``earmark FILE...``: the paths to open in the app, when the first word is no command."""
    commands = {c for a in parser._actions if isinstance(a, argparse._SubParsersAction) for c in a.choices}
    if argv and not argv[0].startswith("-") and argv[0] not in commands:
        return argv
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # the recipe's defaults are the trainer's: classify, synth and the app never import it
    parser = build_parser(train_defaults=bool({"train", "audit"} & set(argv)))
    paths = _paths_to_open(parser, argv)
    if paths is not None:
        missing = [p for p in paths if not os.path.exists(p)]
        if missing:
            print(f"earmark: no such file, folder or command: {missing[0]}", file=sys.stderr)
            return 2
        from gui.app import main as app_main

        return app_main(paths=paths)
    args = parser.parse_args(argv)
    if args.command == "train" and not args.list_models and not (args.data and args.out):
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        subparsers.choices["train"].error("--data and --out are required to train (--list-models needs neither)")
    if args.self_test:
        from engine.commands.selftest import self_test

        return self_test()
    if args.command is None:
        from gui.app import main as app_main

        return app_main()
    if args.command == "clips":
        return clips_cli.run_clips(args)
    if args.command in ("index", "similar"):
        return getattr(index_cli, f"run_{args.command}")(args)
    if args.command in ("queue", "label"):
        return getattr(labels_cli, f"run_{args.command}")(args)
    if args.command in ("classify", "synth"):
        from engine.commands import classify as cli
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

    multiprocessing.freeze_support()  # model vetting runs in a spawned child (engine.models.vet), also when frozen
    sys.exit(main())
