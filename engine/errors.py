"""Typed errors that reach the person: each message names the file or device and the fix."""

from __future__ import annotations


class EarmarkError(Exception):
    """Base of every error Earmark raises on purpose."""


class AudioLoadError(EarmarkError):
    """An audio file cannot be read or is unusable (corrupt, empty, too short, not audio)."""


class ManifestError(EarmarkError):
    """A data set cannot be read: missing metadata, an unknown label, a bad layout."""


class ModelLoadError(EarmarkError):
    """A model file is refused: no metadata, malformed metadata, wrong inputs/outputs."""


class AudioDeviceError(EarmarkError):
    """A sound device is missing, cannot be opened, or vanished while in use."""


class SaveError(EarmarkError):
    """A file could not be written (full disk, no permission); the old file is kept."""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an exception's message (libraries' messages run to many lines), at most
    ``limit`` characters; the exception's type name when it has no message."""
    lines = str(exc).strip().splitlines()
    return lines[0][:limit] if lines else type(exc).__name__
