"""Undo and Redo as actions whose keys work on every platform, for a view's Edit menu and buttons.

Qt's ``StandardKey.Redo`` differs by platform: Ctrl+Y (then Ctrl+Shift+Z) on Windows and on
the offscreen test platform, Ctrl+Shift+Z alone on X11. A view that registered the standard
key *and* "Ctrl+Shift+Z" as two shortcuts had the same key twice on Linux; Qt then finds the
shortcut ambiguous and fires neither. Here each command is one action holding every key it
answers to, once: the platform's bindings plus the common ones (Ctrl+Shift+Z and Ctrl+Y for
redo), without duplicates.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

COMMON_UNDO = ("Ctrl+Z",)
COMMON_REDO = ("Ctrl+Shift+Z", "Ctrl+Y")


def _unique(standard: QKeySequence.StandardKey, common: tuple[str, ...]) -> list[QKeySequence]:
    keys: list[QKeySequence] = []
    for key in [*QKeySequence.keyBindings(standard), *(QKeySequence(text) for text in common)]:
        if not key.isEmpty() and key not in keys:
            keys.append(key)
    return keys


def undo_keys() -> list[QKeySequence]:
    return _unique(QKeySequence.StandardKey.Undo, COMMON_UNDO)


def redo_keys() -> list[QKeySequence]:
    return _unique(QKeySequence.StandardKey.Redo, COMMON_REDO)


def keys_text(keys: list[QKeySequence]) -> str:
    """The keys as a person types them (a keyboard's own Undo/Redo key stays bound, unnamed here)."""
    typed = [k for k in keys if "+" in k.toString()] or keys
    return " / ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in typed)


def edit_actions(widget: QWidget, undo: Callable[[], object], redo: Callable[[], object]) -> tuple[QAction, QAction]:
    """An Undo and a Redo action, active while the focus is anywhere in ``widget``."""
    made = []
    for text, keys, slot in (("&Undo", undo_keys(), undo), ("&Redo", redo_keys(), redo)):
        action = QAction(text, widget)
        action.setShortcuts(keys)
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setToolTip(f"{text.replace('&', '')} ({keys_text(keys)})")
        action.triggered.connect(lambda _checked=False, s=slot: s())
        widget.addAction(action)
        made.append(action)
    return made[0], made[1]
