"""Text from files and models made safe for where it goes: a terminal line, a CSV cell.

File names may hold newlines, tabs or bytes that are not UTF-8 (surrogate escapes); model
labels are checked at load (:func:`engine.models.metadata.parse_metadata` refuses control
characters), but whatever reaches a terminal goes through :func:`printable` anyway, and
whatever reaches a CSV file goes through :func:`csv_cell` (OWASP's advice on CSV
injection: a cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR is prefixed with ``'``).
"""

from __future__ import annotations

import unicodedata

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
_UNSAFE = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def printable(text: object) -> str:
    """``text`` on one line with every control, format (bidi override), surrogate or
    separator character written as a visible escape (``\\n``, ``\\x1b``, ``\\u202e``)."""
    text = str(text)
    if text.isprintable() and "\\" not in text:
        return text
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif unicodedata.category(char) in _UNSAFE:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def csv_cell(value: object) -> object:
    """``value`` for a CSV cell: numbers unchanged; text that a spreadsheet would run as a
    formula gets a leading apostrophe; control characters become visible escapes."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return printable(text) if not text.isprintable() else text
