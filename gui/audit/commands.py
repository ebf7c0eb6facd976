"""The Audit tab's keyboard and edit commands: key presses on the table become calls on the
:class:`~engine.datasets.session.DatasetSession` (relabel, flag, undo, redo) or the preview
(play, stop). A save that failed (and was rolled back) is shown, never raised."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject

from engine.datasets.edits import DOUBTFUL
from engine.datasets.session import DatasetSession
from engine.errors import EarmarkError
from gui.audit.keys import command_for, next_label_for_letter


class AuditCommands(QObject):
    def __init__(self, session: DatasetSession, table, preview, *, select_key: Callable[[str], bool],
                 show_error: Callable[[str], None], parent=None) -> None:
        super().__init__(parent)
        self.session, self.table, self.preview = session, table, preview
        self._select_key, self._show_error = select_key, show_error
        table.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        if watched is self.table and event.type() in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            command = command_for(event.key(), event.modifiers(), self.session.labels)
            if command is not None:
                event.accept()
                if event.type() == QEvent.Type.KeyPress:
                    self.run(*command)
                return True
        return super().eventFilter(watched, event)

    def run(self, name: str, *args) -> None:
        actions = {"play": self.preview.toggle_play, "stop": self.preview.stop, "undo": self.undo,
                   "redo": self.redo, "toggle_flag": self.toggle_flag, "relabel": self.relabel,
                   "relabel_letter": self.relabel_by_letter}
        actions[name](*args)

    def _edit(self, fn, *args):
        try:
            return fn(*args)
        except EarmarkError as exc:  # SaveError: the edit was rolled back
            self._show_error(str(exc))
            return None

    def relabel(self, label: str) -> None:
        self._edit(self.session.relabel, label)

    def relabel_by_letter(self, letter: str) -> None:
        key = self.session.current_key
        current = None if key is None else self.session.label_of(key)
        label = next_label_for_letter(letter, self.session.labels, current)
        if label is not None:
            self.relabel(label)

    def toggle_flag(self, flag: str = DOUBTFUL) -> None:
        self._edit(self.session.toggle_flag, flag)

    def undo(self) -> None:
        self._follow(self._edit(self.session.undo))

    def redo(self) -> None:
        self._follow(self._edit(self.session.redo))

    def export_csv(self, path):
        return self._edit(self.session.export_csv, path)

    def _follow(self, change) -> None:
        """After undo/redo, show the clip that changed."""
        if change is not None and change.clip != self.session.current_key:
            self._select_key(change.clip)
