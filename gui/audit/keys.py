"""The Audit tab's keys, as a pure mapping from a key press to a command (testable without widgets).

Up/Down are left to the table. Commands: ("play",), ("stop",), ("undo",), ("redo",),
("toggle_flag", flag), ("relabel", label), ("relabel_letter", letter).
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from engine.datasets.edits import DOUBTFUL, REVIEWED

KEYS_HELP = ("Keys: ↑/↓ move · Space play/stop · 1-9 or Shift+letter relabel · F doubtful · "
             "R reviewed · Ctrl+Z undo · Ctrl+Shift+Z redo")
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
NONE = Qt.KeyboardModifier.NoModifier


def command_for(key: int, modifiers, labels: list[str]) -> tuple | None:
    mods = modifiers & ~Qt.KeyboardModifier.KeypadModifier
    if mods == CTRL and key == Qt.Key.Key_Z:
        return ("undo",)
    if (mods == CTRL | SHIFT and key == Qt.Key.Key_Z) or (mods == CTRL and key == Qt.Key.Key_Y):
        return ("redo",)
    if mods == NONE:
        simple = {Qt.Key.Key_Space: ("play",), Qt.Key.Key_Escape: ("stop",),
                  Qt.Key.Key_F: ("toggle_flag", DOUBTFUL), Qt.Key.Key_R: ("toggle_flag", REVIEWED)}
        if key in simple:
            return simple[key]
        if Qt.Key.Key_1 <= key <= Qt.Key.Key_9:
            n = key - Qt.Key.Key_1
            return ("relabel", labels[n]) if n < len(labels) else None
    if mods == SHIFT and Qt.Key.Key_A <= key <= Qt.Key.Key_Z:
        return ("relabel_letter", chr(ord("a") + key - Qt.Key.Key_A))
    return None


def next_label_for_letter(letter: str, labels: list[str], current: str | None) -> str | None:
    """The first label starting with ``letter``, or the next one after ``current`` (cycling)."""
    matches = [label for label in labels if label[:1].lower() == letter.lower()]
    if not matches:
        return None
    if current in matches:
        return matches[(matches.index(current) + 1) % len(matches)]
    return matches[0]
