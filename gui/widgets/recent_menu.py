"""File ▸ Open recent: the last files and data sets opened, remembered between runs.

:class:`RecentPaths` is the state (Qt-free apart from the settings it is saved in) and emits
changes; :class:`RecentMenu` only renders it and says which path was chosen.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMenu

from engine.events import Emitter

MAX_RECENT = 8
SETTING = "file/recent"


class RecentPaths:
    """Most recent first, at most ``MAX_RECENT``, saved in ``settings`` as JSON at each change."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self._events = Emitter(("changed",))
        try:
            saved = json.loads(settings.get(SETTING) or "[]")
        except (TypeError, ValueError):
            saved = []
        self.paths: list[str] = [str(p) for p in saved if isinstance(p, str)][:MAX_RECENT]

    def subscribe(self, listener: Callable[[list[str]], None]) -> Callable[[], None]:
        return self._events.subscribe("changed", listener)

    def add(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        self._set([path] + [p for p in self.paths if p != path])

    def remove(self, path: str | Path) -> None:
        self._set([p for p in self.paths if p != str(path)])

    def clear(self) -> None:
        self._set([])

    def _set(self, paths: list[str]) -> None:
        self.paths = paths[:MAX_RECENT]
        self.settings.set(SETTING, json.dumps(self.paths))
        self._events.emit("changed", self.paths)


class RecentMenu(QMenu):
    chosen = Signal(str)

    def __init__(self, recent: RecentPaths, parent=None) -> None:
        super().__init__("Open &recent", parent)
        self.recent = recent
        recent.subscribe(self._on_recent_changed)
        self._update_actions()

    def _on_recent_changed(self, _paths) -> None:
        self._update_actions()

    def _update_actions(self) -> None:
        self.clear()
        for i, path in enumerate(self.recent.paths):
            mark = "/" if Path(path).is_dir() else ""
            action = self.addAction(f"&{i + 1}  {Path(path).name}{mark}")
            action.setToolTip(path)
            action.setStatusTip(path)
            action.setData(path)
            action.triggered.connect(lambda _checked=False, p=path: self.chosen.emit(p))
        if not self.recent.paths:
            self.addAction("(nothing yet)").setEnabled(False)
        self.addSeparator()
        clear = self.addAction("&Clear the list", self.recent.clear)
        clear.setEnabled(bool(self.recent.paths))
