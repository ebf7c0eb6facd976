"""A list of an index's windows to label, driven from the keyboard: the hits of "more like this"
(ranked rows) or a page of the queue (a grid of spectrogram tiles).

The panel renders a :class:`engine.index.session.LabelSession` and sends the keys to it; the
session writes the labels (its writer thread) and says so with events, which reach the panel
through queued Qt signals. Tiles and the windows' samples come from
:func:`gui.index.tiles.tiles_job` in a :class:`gui.workers.job_worker.JobWorker`.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.index.labelling import BACKGROUND
from engine.index.session import LabelSession
from gui.index.tiles import TILE_PX, TilesRequest, tile_pixmap, tiles_job
from gui.workers.job_worker import JobWorker

KEYS_TEXT = ("<b>Enter</b> accept as {accept} · <b>R</b> relabel · <b>B</b> background · <b>Space</b> play · "
             "<b>↑ ↓ ← →</b> move{more}")
SAVED, PENDING, UNLABELLED = QColor("#d7f0d2"), QColor("#fff2b3"), QColor(0, 0, 0, 0)


class WindowsPanel(QWidget):
    """One session's windows; ``grid=True`` shows tiles in a grid (the queue), else ranked rows."""

    next_page_requested = Signal()
    region_saved = Signal(str)     # the recording (a full path) a label was just saved into
    tiles_drawn = Signal()
    _saved = Signal(object)        # (position, region), posted by the session's writer thread
    _failed = Signal(object)       # (position, message), likewise

    def __init__(self, player, *, grid: bool, more_keys: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player, self.grid, self.session = player, grid, None
        self._unsubscribe: list = []
        self.tiles: dict[int, object] = {}          # row -> gui.index.tiles.Tile
        self._pixmaps: dict[int, object] = {}       # row -> its coloured QPixmap, made once
        self.tiles_worker: JobWorker | None = None
        self.list = QListWidget()
        self.list.setUniformItemSizes(True)
        if grid:
            self.list.setViewMode(QListView.ViewMode.IconMode)
            self.list.setIconSize(QSize(*TILE_PX))
            self.list.setGridSize(QSize(TILE_PX[0] + 40, TILE_PX[1] + 82))
            self.list.setResizeMode(QListView.ResizeMode.Adjust)
            self.list.setMovement(QListView.Movement.Static)
            self.list.setWordWrap(True)
        else:
            self.list.setIconSize(QSize(TILE_PX[0] // 2, TILE_PX[1] // 2))
        self.list.installEventFilter(self)
        self.list.currentRowChanged.connect(self._on_list_current_changed)
        self.list.itemDoubleClicked.connect(lambda _item: self.play())
        self.relabel_edit = QLineEdit()
        self.relabel_edit.setPlaceholderText("R: type a label for the current window, then Enter (Esc: back to the list)")
        self.relabel_edit.returnPressed.connect(self._on_relabel_entered)
        QShortcut(QKeySequence("Esc"), self.relabel_edit, activated=self.list.setFocus,
                  context=Qt.ShortcutContext.WidgetShortcut)
        self.keys_label = QLabel()
        self.keys_label.setTextFormat(Qt.TextFormat.RichText)
        self._more_keys = more_keys
        self.status = QLabel("")
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Relabel:"))
        row.addWidget(self.relabel_edit, 1)
        layout.addLayout(row)
        layout.addWidget(self.keys_label)
        layout.addWidget(self.status)
        self._saved.connect(self._on_session_saved)
        self._failed.connect(self._on_session_failed)
        self._update_keys()

    # ---- the session ---------------------------------------------------------------------------
    def set_session(self, session: LabelSession | None) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if session is None or self.session is None or session.index is not self.session.index:
            self.tiles, self._pixmaps = {}, {}       # rows name windows of one index only
        self.session, self._unsubscribe = session, []
        if session is not None:
            events = session.events
            self._unsubscribe = [events.subscribe("items", self._update_items),
                                 events.subscribe("current", self._update_current),
                                 events.subscribe("labelled", self._update_item),
                                 events.subscribe("saved", self._saved.emit),       # writer thread -> queued
                                 events.subscribe("failed", self._failed.emit)]
        self._update_items(session.items if session is not None else [])

    def _update_items(self, items) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for position in range(len(items)):
            item = QListWidgetItem()
            if self.grid:
                item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            self.list.addItem(item)
            self._update_item(position)
        self.list.blockSignals(False)
        self._update_current(self.session.current if self.session is not None else None)
        self._update_keys()
        self._start_tiles()

    def _update_item(self, position: int) -> None:
        if self.session is None or position >= self.list.count():
            return
        it, item = self.session.items[position], self.list.item(position)
        label = f"→ {it.label}{' ✓' if it.saved else ' …'}" if it.label else "→ —"
        if self.grid:
            name = it.recording.rsplit("/", 1)[-1]          # the folder is in the tooltip
            item.setText(f"{label}\n{name}  {it.start_s:.2f}–{it.end_s:.2f} s\n{it.answer}? unsure {it.score:.2f}")
        else:
            item.setText(f"{position + 1:>3}.  {it.recording}   {it.start_s:.2f}–{it.end_s:.2f} s   "
                         f"score {it.score:.3f}   model: {it.answer}   {label}")
        colour = UNLABELLED if not it.label else SAVED if it.saved else PENDING
        item.setBackground(QBrush(colour))
        item.setForeground(QBrush(QColor("#777" if it.label == BACKGROUND else "#000")))
        tile = self.tiles.get(it.row)
        if tile is not None and not tile.error:
            if it.row not in self._pixmaps:
                self._pixmaps[it.row] = tile_pixmap(tile.grey)
            item.setIcon(self._pixmaps[it.row])
        item.setToolTip(f"{it.recording} {it.start_s:.2f}–{it.end_s:.2f} s (row {it.row}); double-click or Space to play")

    def _update_current(self, position) -> None:
        if position is not None and position != self.list.currentRow():
            self.list.setCurrentRow(position)
        if position is not None:
            self.list.scrollToItem(self.list.item(position))
        self._update_keys()

    def _update_keys(self) -> None:
        accept = self.session.default_label() if self.session is not None and self.session.items else ""
        more = f" · {self._more_keys}" if self._more_keys else ""
        self.keys_label.setText(KEYS_TEXT.format(accept=f"<b>{accept or '…'}</b>", more=more))

    def _on_session_saved(self, payload) -> None:
        position, region = payload
        self._update_item(position)
        if self.session is not None and position < len(self.session.items):
            self.region_saved.emit(str(self.session.index.folder / self.session.items[position].recording))
        self.status.setText(f"Saved {region.label!r} at {region.start_s:.2f}–{region.end_s:.2f} s")

    def _on_session_failed(self, payload) -> None:
        position, message = payload
        self.status.setText(f"Not saved (window {position + 1}): {message}")

    # ---- keys ----------------------------------------------------------------------------------
    def _on_list_current_changed(self, row: int) -> None:
        if self.session is not None and row >= 0:
            self.session.set_current(row)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        if watched is self.list and event.type() == QEvent.Type.KeyPress and self.session is not None:
            chords = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
            if event.modifiers() & chords:
                return False                  # Ctrl+B, Alt+R…: the window's shortcuts, not a label
            return self.handle_key(event.key())
        return super().eventFilter(watched, event)

    def handle_key(self, key: int) -> bool:
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.session.accept()
        elif key == Qt.Key.Key_B:
            self.session.background()
        elif key == Qt.Key.Key_R and self.session.current is not None:
            self.relabel_edit.setFocus()
            self.relabel_edit.selectAll()
        elif key == Qt.Key.Key_Space:
            self.play()
        elif key in (Qt.Key.Key_PageDown, Qt.Key.Key_N) and self.grid:
            self.next_page_requested.emit()
        else:
            return False
        return True

    def _on_relabel_entered(self) -> None:
        text = self.relabel_edit.text().strip()
        if self.session is not None and self.session.current is not None and text:
            self.session.label(self.session.current, text)
        self.list.setFocus()

    # ---- tiles and playing ---------------------------------------------------------------------
    def _start_tiles(self) -> None:
        if self.tiles_worker is not None:
            self.tiles_worker.cancel()
        session = self.session
        windows = tuple((i.row, i.recording, i.start_s, i.end_s) for i in (session.items if session else [])
                        if i.row not in self.tiles)
        if not windows:
            self.tiles_drawn.emit()
            return
        worker = self.tiles_worker = JobWorker(tiles_job, TilesRequest(session.index.folder, windows),
                                               what="Drawing the tiles", owner=self)
        worker.finished.connect(self._on_tiles_finished)
        worker.start()

    def _on_tiles_finished(self, tiles) -> None:
        for tile in tiles:
            self.tiles[tile.row] = tile
        if self.session is not None:
            for position in range(min(len(self.session.items), self.list.count())):
                self._update_item(position)
        self.tiles_drawn.emit()

    def play(self) -> None:
        """Play the current window (its samples came with its tile)."""
        session = self.session
        if session is None or session.current is None:
            return
        tile = self.tiles.get(session.items[session.current].row)
        if tile is None or tile.error or not len(tile.samples):
            self.status.setText(tile.error if tile is not None and tile.error else "Still reading the window…")
            return
        self.player.load(tile.samples, tile.sample_rate_hz)
        self.player.play()

    def shutdown(self) -> None:
        if self.tiles_worker is not None:
            self.tiles_worker.close(2.0)
        self.set_session(None)
