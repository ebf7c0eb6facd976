"""Batch classification of files: one bad file never stops the rest, results come one by one.

:func:`iter_audio_files` walks files and folders lazily (folders recursively, every format
the loader reads, hidden and macOS ``._`` AppleDouble files skipped), and
:func:`iter_results` classifies them as they come, so memory stays bounded whatever the
number of files and a caller can print each result as soon as it exists.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.audio.io import AUDIO_SUFFIXES, is_silent, load_audio
from engine.errors import AudioLoadError, ModelLoadError
from engine.models.calibration import MIN_CALIBRATION_S, CalibrationRefused
from engine.models.classifier import OnnxClassifier
from engine.models.thresholds import Decision

CONSTANT_DBFS = -90.0  # what varies less than this around its mean is a constant (or DC) signal


@dataclass
class FileResult:
    path: Path
    probs: np.ndarray | None = None
    labels: list[str] = field(default_factory=list)
    error: str | None = None
    warning: str | None = None
    decision: Decision | None = None   # under per-class thresholds: label None when no class passed

    @property
    def recognised(self) -> bool:
        """Labelled, and (under thresholds) the top class reached its threshold."""
        return self.labelled and (self.decision is None or self.decision.label is not None)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def labelled(self) -> bool:
        """False for a constant signal: nothing to label, said in ``warning``."""
        return self.probs is not None

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        if self.probs is None:
            return []
        order = np.argsort(self.probs)[::-1][:k]
        return [(self.labels[i], float(self.probs[i])) for i in order]

    def to_json(self, k: int = 3) -> dict:
        if not self.ok:
            return {"path": os.fsdecode(self.path), "error": self.error}
        out: dict = {"path": os.fsdecode(self.path)}
        if self.labelled:
            (label, confidence), *_ = self.top(1)
            if not self.recognised:   # nothing passed its threshold: no label, and why
                label = None
                out["reason"] = self.decision.reason
            out.update(label=label, confidence=confidence,
                       top=[{"label": lab, "prob": p} for lab, p in self.top(k)],
                       probs={lab: float(p) for lab, p in zip(self.labels, self.probs, strict=True)})
        else:
            out.update(label=None, confidence=None)
        if self.warning:
            out["warning"] = self.warning
        return out


def constant_reason(samples: np.ndarray) -> str | None:
    """Why ``samples`` hold nothing to label (silent, or a constant/DC level), or None."""
    if samples.size == 0:
        return "it holds no samples"
    mean = float(np.mean(samples, dtype=np.float64))
    varying = float(np.sqrt(np.mean(np.square(samples - mean, dtype=np.float64))))
    if varying > 10 ** (CONSTANT_DBFS / 20):
        return None
    if abs(mean) <= 10 ** (CONSTANT_DBFS / 20):
        return "it is silent (every sample is zero)"
    return f"it is a constant level (DC {mean:+.3g}) with no sound in it"


def classify_file(model: OnnxClassifier, path: str | os.PathLike) -> FileResult:
    path = Path(path)
    try:
        audio = load_audio(path, model.meta.sample_rate_hz)
    except AudioLoadError as exc:
        return FileResult(path, error=str(exc))
    reason = constant_reason(audio.samples)
    if reason is not None:
        return FileResult(path, labels=model.labels, warning=f"{path}: not labelled: {reason}")
    try:
        probs = model.classify(audio.samples)
    except ModelLoadError as exc:  # the model answered something that is not probabilities
        return FileResult(path, error=f"{path}: not classified: {str(exc)}")
    warning = None
    if is_silent(audio.samples):
        warning = f"{path}: the clip is silent (below -60 dBFS); its label is only a guess"
    decision = model.decide(probs) if model.thresholds is not None else None
    return FileResult(path, probs, model.labels, warning=warning, decision=decision)


def calibrate_to_files(model: OnnxClassifier, inputs: Iterable[str | os.PathLike]) -> tuple[np.ndarray, int, list[str]]:
    """``(band statistics, files used, problems)``: the voiced audio of one speaker's files (folders
    walked; pauses and silence left out) pooled, labels unread, for ``model.set_calibration``.
    Unreadable, silent or constant files are left out and said in ``problems``, as is too little
    voice to calibrate on reliably (:data:`engine.models.calibration.MIN_CALIBRATION_S` voiced
    seconds); ValueError when no file is left; :class:`CalibrationRefused` naming the files when
    nothing in them is voiced or their statistics are implausible for the model."""
    used, problems = [], []

    def clips():
        for path in iter_audio_files(inputs):
            try:
                audio = load_audio(path, model.meta.sample_rate_hz)
            except AudioLoadError as exc:
                problems.append(f"not used for calibration: {exc}")
                continue
            reason = constant_reason(audio.samples)
            if reason is not None:
                problems.append(f"{path}: not used for calibration: {reason}")
                continue
            used.append(path)
            yield audio.samples

    try:
        stats, voiced_s = model.calibrate_voiced(clips())
    except CalibrationRefused as exc:
        names = ", ".join(str(p) for p in used[:5]) + (f" and {len(used) - 5} more" if len(used) > 5 else "")
        raise CalibrationRefused(f"calibration to {names} refused: {exc}") from exc
    except ValueError as exc:  # nothing left: say why each file was left out
        if not problems:
            raise
        raise ValueError(f"{exc}; " + "; ".join(problems)) from None
    if voiced_s < MIN_CALIBRATION_S:
        problems.append(f"calibrated on {voiced_s:.1f} s of voice (pauses and silence left out); under "
                        f"{MIN_CALIBRATION_S:g} s of one speaker's voice calibration is unreliable and can "
                        "score worse than none (docs/CALIBRATION.md)")
    return stats, len(used), problems


def classify_files(model: OnnxClassifier, paths) -> list[FileResult]:
    return list(iter_results(model, paths))


def iter_results(model: OnnxClassifier, inputs: Iterable[str | os.PathLike],
                 skipped: list[str] | None = None) -> Iterator[FileResult]:
    """Classify every file ``inputs`` name (folders walked), yielding each result when done."""
    for path in iter_audio_files(inputs, skipped):
        yield classify_file(model, path)


def iter_audio_files(inputs: Iterable[str | os.PathLike], skipped: list[str] | None = None) -> Iterator[Path]:
    """Files named in ``inputs`` as they are; folders walked recursively in name order,
    keeping audio files and skipping hidden entries and AppleDouble (``._x.wav``) files.
    A folder that cannot be read and a link that leads nowhere (a loop) inside a folder are
    left out with a line in ``skipped`` saying so, never silently."""
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            yield from _walk(path, skipped if skipped is not None else [])
        else:
            yield path  # named on purpose: tried, and refused with a reason if unreadable


def _walk(folder: Path, skipped: list[str]) -> Iterator[Path]:
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda e: e.name)
    except OSError as exc:
        skipped.append(f"{folder}: the folder cannot be read ({exc.strerror or exc}); left out")
        return
    for entry in entries:
        if entry.name.startswith("."):  # hidden files and folders, and ._ AppleDouble files
            continue
        try:
            is_dir = entry.is_dir()  # follows links; a link loop is an OSError
        except OSError as exc:
            skipped.append(f"{entry.path}: {exc.strerror or exc} (a symbolic link loop?); left out")
            continue
        if is_dir:
            if not entry.is_symlink():  # no cycles through linked folders
                yield from _walk(Path(entry.path), skipped)
        elif Path(entry.name).suffix.lower() in AUDIO_SUFFIXES:
            yield Path(entry.path)
