"""Headless commands that need only the engine: ``classify`` and ``synth``.

``classify`` streams: each file's line (or JSON object) is written and flushed as soon as
that file is done; ``| head`` ends it quietly; Ctrl-C stops it, keeping everything written
and closing the JSON document, with exit status 130.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from engine.errors import EarmarkError, ModelLoadError

EXIT_MODEL_REFUSED = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a command killed by the pipe closing returns


def add_classify_arguments(parser) -> None:
    """The ``classify`` options, on ``parser`` (an argparse parser). Other modules add theirs
    beside these (e.g. segment tables for long recordings) with a function of their own."""
    parser.add_argument("model", help="an Earmark .onnx model")
    parser.add_argument("files", nargs="+",
                        help="audio files or folders (searched recursively: WAV, FLAC, OGG, Opus, MP3, AIFF...)")
    parser.add_argument("--json", action="store_true", help="print one JSON document for machines")
    parser.add_argument("--top", type=int, default=3, help="labels to show per file (default: %(default)s)")
    parser.add_argument("--calibrate", action="store_true",
                        help="the files are one speaker: normalise the model to the band statistics of their "
                             "voiced audio (pauses and silence left out; no labels) before classifying them; "
                             "for models trained with speaker normalisation. Under 20 s of voice it warns; "
                             "statistics implausible for the model are refused and the files classified "
                             "uncalibrated (docs/CALIBRATION.md)")


def run_classify(args) -> int:
    if getattr(args, "segments", False):
        return _run_segments(args)
    from engine.models.classifier import OnnxClassifier
    from engine.textsafe import printable

    try:
        model = OnnxClassifier.load(args.model)
    except ModelLoadError as exc:
        _say(f"error: {printable(exc)}")
        return EXIT_MODEL_REFUSED
    except KeyboardInterrupt:
        _say("interrupted while checking the model; nothing was classified")
        return EXIT_INTERRUPTED
    calibrated = None
    if getattr(args, "calibrate", False):
        calibrated = _calibrate(model, args.files)
        if isinstance(calibrated, int):
            return calibrated
    writer = _JsonWriter(model, args.top, calibrated) if args.json else _TextWriter(args.top)
    counts = {"done": 0, "failed": 0, "skipped": []}
    try:
        try:
            writer.begin()
            _classify_into(model, args.files, writer, counts)
        except KeyboardInterrupt:
            writer.end(interrupted=True)
            _say(f"interrupted: {counts['done']} file(s) classified before Ctrl-C are above")
            return EXIT_INTERRUPTED
        writer.end(interrupted=False)
    except BrokenPipeError:
        _quiet_stdout()  # the reader (| head) has gone: stop without a traceback
        return EXIT_BROKEN_PIPE
    for line in counts["skipped"]:
        _say(f"warning: {printable(line)}")
    if not counts["done"]:
        _say("error: no audio files found in " + ", ".join(printable(f) for f in args.files))
        return 1
    if counts["failed"]:
        _say(f"{counts['failed']} of {counts['done']} file(s) could not be classified")
    return 1 if counts["failed"] else 0


def _calibrate(model, files) -> dict | int:
    """Calibrate ``model`` to ``files`` as one speaker: what was used, or an exit status."""
    from engine.classify.files import calibrate_to_files
    from engine.models.calibration import CalibrationRefused
    from engine.textsafe import printable

    if not model.calibratable:
        _say(f"error: {printable(model.path)}: cannot be calibrated: {model.calibration_problem}")
        return EXIT_MODEL_REFUSED
    try:
        stats, n_files, problems = calibrate_to_files(model, files)
    except CalibrationRefused as exc:
        _say(f"warning: {printable(exc)}; classifying uncalibrated")
        return {"refused": printable(str(exc))}
    except (ValueError, ModelLoadError) as exc:
        _say(f"error: {printable(exc)}")
        return EXIT_MODEL_REFUSED if isinstance(exc, ModelLoadError) else 1
    except KeyboardInterrupt:
        _say("interrupted while calibrating; nothing was classified")
        return EXIT_INTERRUPTED
    for problem in problems:
        _say(f"warning: {printable(problem)}")
    model.set_calibration(stats)
    _say(f"calibrated to {n_files} file(s) as one speaker")
    return {"files": n_files}


def _classify_into(model, inputs, writer, counts) -> None:
    from engine.classify.files import iter_results
    from engine.textsafe import printable

    for result in iter_results(model, inputs, counts["skipped"]):
        counts["done"] += 1
        if result.error:
            counts["failed"] += 1
            _say(f"error: {printable(result.error)}")
        elif result.warning:
            _say(f"warning: {printable(result.warning)}")
        writer.write(result)


class _TextWriter:
    """``path<TAB>label p, label p`` a line; file names and labels escaped onto one line."""

    def __init__(self, top: int) -> None:
        self.top = top

    def begin(self) -> None:
        pass

    def write(self, result) -> None:
        from engine.textsafe import printable

        if not result.ok:
            return
        path = printable(os.fsdecode(result.path))
        if result.labelled:
            tops = ", ".join(f"{printable(label)} {p:.2f}" for label, p in result.top(self.top))
            if not result.recognised:
                tops = f"({printable(result.decision.reason)}; scores: {tops})"
        else:
            tops = "(no label: nothing but silence or a constant level)"
        _out(f"{path}\t{tops}\n")

    def end(self, interrupted: bool) -> None:
        pass


def _calibration_fields(calibrated: dict | None) -> dict:
    """``"calibrated": {"files": n}``, or false with the reason a calibration was refused."""
    if not calibrated:
        return {}
    if "refused" in calibrated:
        return {"calibrated": False, "calibration_refused": calibrated["refused"]}
    return {"calibrated": calibrated}


class _JsonWriter:
    """One JSON document, written as it grows, one complete line per result (the comma
    leads the next line), so a reader can parse each result as soon as its line arrives::

        {"model": ..., "labels": [...], "results": [
          {"path": ...}
        , {"path": ...}
        ], "interrupted": false}
    """

    def __init__(self, model, top: int, calibrated: dict | None = None) -> None:
        self.model, self.top, self.n, self.calibrated = model, top, 0, calibrated

    def begin(self) -> None:
        head = json.dumps({"model": os.fsdecode(self.model.path), "labels": self.model.labels,
                           **_calibration_fields(self.calibrated)}, allow_nan=False)
        _out(head[:-1] + ', "results": [\n')

    def write(self, result) -> None:
        text = json.dumps(result.to_json(self.top), allow_nan=False)  # never a bare NaN
        _out((", " if self.n else "  ") + text + "\n")
        self.n += 1

    def end(self, interrupted: bool) -> None:
        _out(f'], "interrupted": {json.dumps(interrupted)}}}\n')


def _out(text: str) -> None:
    """Write and flush ``text`` whole: a Ctrl-C arriving meanwhile is held until it is out."""
    held = hasattr(signal, "pthread_sigmask")
    if held:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    finally:
        if held:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _say(text: str) -> None:
    try:
        print(text, file=sys.stderr, flush=True)
    except (BrokenPipeError, ValueError):
        pass


def _quiet_stdout() -> None:
    """After EPIPE: point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _run_segments(args) -> int:
    """``--segments``: segment tables per file, streamed (engine.commands.segments)."""
    from engine.commands.segments import run_segments

    return run_segments(args)


def run_synth(args) -> int:
    from engine.datasets import synth

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
