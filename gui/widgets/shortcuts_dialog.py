"""Help ▸ Keyboard shortcuts (F1): every menu command that has a key, the keys of the views (the
Annotate lanes' tables, given by the window), and the keys of the Audit table."""

from __future__ import annotations

import html

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMenuBar, QTextBrowser, QVBoxLayout, QWidget

EXTRA_SECTIONS: dict[str, list[tuple[str, str]]] = {
    "Audit table (when the list of clips has the focus)": [
        ("↑ / ↓", "previous / next clip"), ("Space", "play or stop the clip"), ("Esc", "stop"),
        ("1 … 9", "relabel to the n-th label"), ("Shift+letter", "relabel to the (next) label with that letter"),
        ("F", "flag as doubtful"), ("R", "mark as reviewed"), ("Ctrl+Z / Ctrl+Shift+Z", "undo / redo"),
    ],
    "Label window (File ▸ Label from an index…; when a list of windows has the focus)": [
        ("Enter", "accept: the query region's label (More like this), the model's answer (the queue)"),
        ("R", "relabel: type a label, then Enter"), ("B", "background"), ("Space", "play the window"),
        ("↑ ↓ ← →", "move"), ("PgDn / N", "the queue's next page"), ("F5", "refresh the queue"),
        ("Ctrl+T", "train from these labels, then re-score the folder"),
    ],
}


def menu_shortcuts(bar: QMenuBar) -> dict[str, list[tuple[str, str]]]:
    """Per menu (its title without '&'), (keys, command) for every action that has a shortcut."""
    sections: dict[str, list[tuple[str, str]]] = {}
    for menu_action in bar.actions():
        menu = menu_action.menu()
        if menu is None:
            continue
        rows = []
        for action in menu.actions():
            keys = " / ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())
            if keys and action.text():
                rows.append((keys, action.text().replace("&", "")))
        if rows:
            sections[menu_action.text().replace("&", "")] = rows
    return sections


def shortcuts_html(sections: dict[str, list[tuple[str, str]]]) -> str:
    parts = []
    for title, rows in sections.items():
        parts.append(f"<h3>{html.escape(title)}</h3><table cellspacing='0' cellpadding='3'>")
        parts += [f"<tr><td width='170'><b>{html.escape(keys)}</b></td><td>{html.escape(text)}</td></tr>"
                  for keys, text in rows]
        parts.append("</table>")
    return "".join(parts)


class ShortcutsDialog(QDialog):
    def __init__(self, bar: QMenuBar, parent: QWidget | None = None,
                 extra: dict[str, list[tuple[str, str]]] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.sections = {**menu_shortcuts(bar), **(extra or {}), **EXTRA_SECTIONS}
        self.text = QTextBrowser()
        self.text.setHtml(shortcuts_html(self.sections))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.resize(520, 560)
