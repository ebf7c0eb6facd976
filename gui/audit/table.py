"""The audit table: one row per clip, read live from :class:`engine.datasets.session.DatasetSession`.

:class:`ClipTableModel` never edits anything itself; it observes the session and refreshes
rows when it reports a change. :class:`ClipFilterProxy` sorts (numbers as numbers)
and filters by label, by text and by state (suspects, flagged, not reviewed).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor

from engine.datasets.edits import DOUBTFUL, REVIEWED
from engine.datasets.session import ClipInfo, DatasetSession, Suspicion, suspicion_from_result

__all__ = ["COL", "COLUMNS", "ClipFilterProxy", "ClipRow", "ClipTableModel", "Suspicion", "make_table",
           "suspicion_from_result"]

# what a reviewer reads first comes first: at 1366 px Predicted and Prob were scrolled off to the right
COLUMNS = ("Rank", "File", "Label", "Predicted", "Prob", "Label prob", "Flags", "Group", "Fold", "Duration (s)")
COL = {name: i for i, name in enumerate(COLUMNS)}
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
SHOW_ALL, SHOW_SUSPECTS, SHOW_FLAGGED, SHOW_UNREVIEWED = "All clips", "Suspects", "Flagged", "Not reviewed"
SHOW_CHOICES = (SHOW_ALL, SHOW_SUSPECTS, SHOW_FLAGGED, SHOW_UNREVIEWED)
ISSUE_BRUSH = QBrush(QColor(200, 60, 60, 45))
REVIEWED_BRUSH = QBrush(QColor(40, 160, 70, 60))


ClipRow = ClipInfo  # the table's row is the session's clip


class ClipTableModel(QAbstractTableModel):
    """Rows of a :class:`DatasetSession`, which it observes: a new data set resets it, an edit
    refreshes one row, a ranking refreshes all."""

    def __init__(self, session: DatasetSession | None = None, parent=None) -> None:
        super().__init__(parent)
        self.session = session or DatasetSession()
        self._unsubscribe = [self.session.subscribe("opened", self._on_session_opened),
                             self.session.subscribe("edited", self._on_session_edited),
                             self.session.subscribe("ranked", self._on_session_ranked)]

    def detach(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    @property
    def rows(self) -> tuple[ClipInfo, ...]:
        return self.session.clips

    @property
    def labels(self) -> list[str]:
        return self.session.labels

    @property
    def suspicion(self) -> dict[str, Suspicion]:
        return self.session.suspicion

    def row_of(self, key: str) -> int | None:
        return self.session.row_of(key)

    # ---- session -> model -------------------------------------------------------------------
    def _on_session_opened(self, _session) -> None:
        self.beginResetModel()
        self.endResetModel()

    def _on_session_edited(self, change) -> None:
        self.refresh_key(change.clip)

    def _on_session_ranked(self, _result) -> None:
        self._changed_all()

    def refresh_key(self, key: str) -> None:
        row = self.session.row_of(key)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def _changed_all(self) -> None:
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(COLUMNS) - 1))

    # ---- per-clip state ---------------------------------------------------------------------
    def label(self, row: int) -> str:
        return self.session.label_of(self.rows[row].key)

    def clip_flags(self, row: int) -> tuple[str, ...]:  # not Qt's flags(index)
        return self.session.flags_of(self.rows[row].key)

    def predicted(self, row: int) -> tuple[str, float, float] | None:
        """(predicted label, its probability, probability of the current label) or None."""
        return self.session.predicted(self.rows[row].key)

    def class_counts(self) -> dict[str, int]:
        return self.session.class_counts()

    # ---- Qt model ---------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt API
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, col)
        if role == SORT_ROLE:
            return self._sort_value(row, col)
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._background(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            clip = self.rows[row]
            label = self.label(row)
            was = f" (was {clip.original_label})" if label != clip.original_label else ""
            return f"{clip.path}\nlabel: {label}{was}"
        if role == Qt.ItemDataRole.TextAlignmentRole and COLUMNS[col] in ("Rank", "Fold", "Duration (s)",
                                                                         "Prob", "Label prob"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, row: int, col: int):
        clip = self.rows[row]
        name = COLUMNS[col]
        if name == "Rank":
            s = self.suspicion.get(clip.key)
            return "" if s is None else str(s.rank) if s.judged else f"{s.rank} (not judged)"
        if name == "File":
            return clip.key
        if name == "Label":
            label = self.label(row)
            return label if label == clip.original_label else f"{label} ← {clip.original_label}"
        if name == "Group":
            return clip.group
        if name == "Fold":
            return "" if clip.fold is None else str(clip.fold)
        if name == "Duration (s)":
            return "" if clip.duration_s is None else f"{clip.duration_s:.2f}"
        if name == "Flags":
            marks = list(self.clip_flags(row))
            if self.label(row) != clip.original_label:
                marks.append("relabelled")
            return ", ".join(marks)
        pred = self.predicted(row)
        if pred is None:
            return ""
        return {"Predicted": pred[0], "Prob": f"{pred[1]:.2f}", "Label prob": f"{pred[2]:.2f}"}[name]

    def _sort_value(self, row: int, col: int):
        name = COLUMNS[col]
        clip = self.rows[row]
        if name == "Rank":
            s = self.suspicion.get(clip.key)
            return float(s.rank) if s else math.inf
        if name == "Fold":
            return float(clip.fold) if clip.fold is not None else math.inf
        if name == "Duration (s)":
            return clip.duration_s if clip.duration_s is not None else math.inf
        if name in ("Prob", "Label prob"):
            pred = self.predicted(row)
            return math.inf if pred is None else pred[1 if name == "Prob" else 2]
        return str(self._display(row, col)).lower()

    def _background(self, row: int):
        flags = self.clip_flags(row)
        if REVIEWED in flags:
            return REVIEWED_BRUSH
        s = self.suspicion.get(self.rows[row].key)
        if DOUBTFUL in flags or (s is not None and s.is_issue):
            return ISSUE_BRUSH
        return None


class ClipFilterProxy(QSortFilterProxyModel):
    """Sort by the model's SORT_ROLE; keep rows matching the label, the text and the state."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(False)  # a relabelled row stays where the person is looking
        self.label_filter: str | None = None
        self.text_filter = ""
        self.show = SHOW_ALL

    def set_filters(self, *, label: str | None = None, text: str = "", show: str = SHOW_ALL) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9
            self.beginFilterChange()
            self.label_filter, self.text_filter, self.show = label, text.strip().lower(), show
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover - older Qt
            self.label_filter, self.text_filter, self.show = label, text.strip().lower(), show
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:  # noqa: N802 - Qt API
        model: ClipTableModel = self.sourceModel()
        if self.label_filter and model.label(source_row) != self.label_filter:
            return False
        if not self._state_ok(model, source_row):
            return False
        if self.text_filter:
            haystack = " ".join(str(model._display(source_row, c)) for c in range(len(COLUMNS))).lower()
            return self.text_filter in haystack
        return True

    def _state_ok(self, model: ClipTableModel, row: int) -> bool:
        if self.show == SHOW_SUSPECTS:
            s = model.suspicion.get(model.rows[row].key)
            return s is not None and s.is_issue
        if self.show == SHOW_FLAGGED:
            return DOUBTFUL in model.clip_flags(row)
        if self.show == SHOW_UNREVIEWED:
            return REVIEWED not in model.clip_flags(row)
        return True


def make_table(proxy: ClipFilterProxy):
    """A read-only, single-row-selection, sortable table over ``proxy``."""
    from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

    table = QTableView()
    table.setModel(proxy)
    table.setSortingEnabled(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(22)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.horizontalHeader().setStretchLastSection(True)
    table.setWordWrap(False)  # "wav/03a01Wa.wav" wrapped at the "/" showed "wav/…" on every row
    table.setTextElideMode(Qt.TextElideMode.ElideLeft)  # a narrow File column keeps the names
    return table
