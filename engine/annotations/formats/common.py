"""Helpers shared by the region file formats."""

from __future__ import annotations

import math

from engine.errors import EarmarkError


class InterchangeError(EarmarkError):
    """A label file cannot be read or written: a bad line, a missing column, an unknown format."""


def fmt_number(value: float | None) -> str:
    """Six decimals (what Audacity and Raven write) when exact, else the shortest exact decimal."""
    if value is None:
        return ""
    value = float(value)
    six = f"{value:.6f}"
    return six if float(six) == value else repr(value)


def parse_number(text: str, where: str, what: str) -> float:
    cell = text.strip()
    try:
        value = float(cell)
    except ValueError:
        try:  # a decimal comma (a spreadsheet in a European locale)
            value = float(cell.replace(",", ".")) if cell.count(",") == 1 else None
        except ValueError:
            value = None
    if value is None:
        raise InterchangeError(f"{where}: {what} {cell!r} is not a number")
    if not math.isfinite(value):
        raise InterchangeError(f"{where}: {what} {text.strip()!r} is not a finite number")
    return value


def clean_text(text: str) -> str:
    """A label or note on one line without tabs (both formats are tab- and line-separated)."""
    return " ".join(str(text).replace("\t", " ").splitlines()).strip()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run (OWASP, CSV injection)


def formula_safe(text: str) -> str:
    """A cell a spreadsheet shows as text: a leading ``'`` before a formula character, and before a
    leading ``'`` (so :func:`formula_unsafe` gives back exactly the text written)."""
    return "'" + text if text.startswith(_FORMULA_START + ("'",)) else text


def formula_unsafe(text: str) -> str:
    """The text :func:`formula_safe` was given (a ``'`` before a formula character or a ``'`` dropped)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START + ("'",)) else text
