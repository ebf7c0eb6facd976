"""The one observer helper and the one undo history, on their own."""

from __future__ import annotations

import pytest

from engine.events import Emitter
from engine.undo import UndoStack


def test_callbacks_run_in_order_and_unsubscribe():
    emitter, seen = Emitter(("changed",)), []
    first = emitter.subscribe("changed", lambda p: seen.append(("a", p)))
    emitter.subscribe("changed", lambda p: seen.append(("b", p)))
    emitter.emit("changed", 1)
    first()
    emitter.emit("changed", 2)
    assert seen == [("a", 1), ("b", 1), ("b", 2)]


def test_a_fixed_emitter_refuses_an_unknown_event():
    with pytest.raises(ValueError, match="unknown event 'chnaged'"):
        Emitter(("changed",)).subscribe("chnaged", print)


def test_subscribing_during_an_emit_takes_effect_next_time():
    emitter, seen = Emitter(), []
    emitter.subscribe("x", lambda p: emitter.subscribe("x", lambda q: seen.append(q)))
    emitter.emit("x", 1)
    assert seen == []
    emitter.emit("x", 2)
    assert seen == [2]


def test_undo_redo_moves_a_change_only_when_it_was_applied():
    stack: UndoStack[str] = UndoStack()
    assert stack.undo(lambda c: c) is None and not stack.can_undo
    stack.record("a")
    stack.record("b")

    def failing(change):
        raise OSError("disk full")

    with pytest.raises(OSError):
        stack.undo(failing)
    assert stack.can_undo and not stack.can_redo           # still undoable
    assert stack.undo(lambda c: f"undid {c}") == "undid b"
    assert stack.can_redo
    stack.record("c")                                       # a new change drops what was undone
    assert not stack.can_redo
    assert stack.undo(lambda c: c) == "c" and stack.undo(lambda c: c) == "a"
    assert stack.redo(lambda c: c) == "a"
