"""The one undo/redo history of Earmark's editable state (label edits, region tracks).

Each entry is a change the owner knows how to apply backwards (undo) and forwards again (redo).
The owner passes the function that applies it; only when that function returns does the entry
move to the other side, so a change that could not be saved (a full disk, a locked file) stays
where it was and can be tried again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class UndoStack(Generic[T]):
    def __init__(self) -> None:
        self._undo: list[T] = []
        self._redo: list[T] = []

    def record(self, change: T) -> None:
        """A new change was made: it can be undone, and nothing undone before can be redone."""
        self._undo.append(change)
        self._redo.clear()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self, apply_backwards: Callable[[T], R]) -> R | None:
        """Apply the latest change backwards; None when there is nothing to undo."""
        if not self._undo:
            return None
        result = apply_backwards(self._undo[-1])
        self._redo.append(self._undo.pop())
        return result

    def redo(self, apply_forwards: Callable[[T], R]) -> R | None:
        """Apply the latest undone change again; None when there is nothing to redo."""
        if not self._redo:
            return None
        result = apply_forwards(self._redo[-1])
        self._undo.append(self._redo.pop())
        return result

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
