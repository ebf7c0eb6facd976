"""Models emit, views listen: the one observer helper of Earmark's Qt-free state objects.

A state object (label edits, a region track, a data-set session, the model list, the wizard's
session) owns an :class:`Emitter` and emits named events; views subscribe and render, and the
state never knows them (napari's pattern, see ../shared/STYLE.md). Callbacks run in the thread
that emits, in the order they subscribed; one that subscribes or unsubscribes during an emit
takes effect from the next emit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Callback = Callable[[Any], None]


class Emitter:
    """Named events. ``events`` fixes the names (a typo is an error at subscribe time); ``None``
    takes any name."""

    def __init__(self, events: Iterable[str] | None = None) -> None:
        self._fixed = events is not None
        self._callbacks: dict[str, list[Callback]] = {event: [] for event in (events or ())}

    def subscribe(self, event: str, callback: Callback) -> Callable[[], None]:
        """Call ``callback(payload)`` on every ``event``; returns the function that unsubscribes it."""
        if self._fixed and event not in self._callbacks:
            raise ValueError(f"unknown event {event!r}; use one of {sorted(self._callbacks)}")
        self._callbacks.setdefault(event, []).append(callback)
        return lambda: self.unsubscribe(event, callback)

    def unsubscribe(self, event: str, callback: Callback) -> None:
        callbacks = self._callbacks.get(event, [])
        if callback in callbacks:
            callbacks.remove(callback)

    def emit(self, event: str, payload: Any = None) -> None:
        for callback in list(self._callbacks.get(event, ())):
            callback(payload)
