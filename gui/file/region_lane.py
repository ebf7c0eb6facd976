"""A strip of regions under the plots, on their time axis, edited by mouse and keys.

The label lane shows what a person stands behind (their regions and accepted suggestions):
drag on empty space to create a region, drag an edge to resize, drag the inside to move;
``1``-``9`` label the selected region with the n-th label, a letter with the first label
that starts with it, ``Enter`` opens a picker, ``Delete`` removes, ``N`` makes a region of
the view's selection. The suggestion lane shows the model's pending (and rejected)
suggestions: ``A``/``Enter`` accepts, ``R``/``Delete`` rejects, a digit or letter accepts
with that label; each moves on to the next pending suggestion.

Every edit goes to the :class:`engine.annotations.regions.RegionTrack`; the lane repaints from the
track's change events (``_on_track_changed``), never from its own drag state once released.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QMenu, QWidget

from engine.annotations.regions import ACCEPTED, PENDING, REJECTED, SUGGESTION, Region, RegionTrack

LABELS, SUGGESTIONS = "labels", "suggestions"
PALETTE = ("#58a6ff", "#3fb950", "#d29922", "#f778ba", "#a371f7", "#39c5cf", "#ff7b72", "#e3b341", "#8b949e")
EDGE_PX = 5
MAX_DRAWN = 2000  # regions drawn one by one; more in view are drawn as where they lie
DENSITY_SAMPLE = 5_000
MIN_CREATE_PX = 3
# The lanes' keys: what the tooltips and Help ▸ Keyboard shortcuts (F1) show, next to the code that acts on them.
LABEL_KEYS = (
    ("drag on empty space", "create a region"), ("N", "a region from the selection (a box: with its band)"),
    ("1 … 9", "label the region with the n-th label"), ("a letter", "the first label starting with it"),
    ("Enter", "label picker"), ("drag an edge / the inside", "resize / move"), ("Delete, Backspace", "remove"),
    ("Ctrl+Z / Ctrl+Shift+Z or Ctrl+Y", "undo / redo"),
)
SUGGESTION_KEYS = (
    ("A, Enter", "accept the selected suggestion"), ("R, Delete", "reject it (the model will not suggest it again)"),
    ("1 … 9, a letter", "accept it with that label"), ("Tab / Shift+Tab", "next / previous pending suggestion"),
    ("Shift+A", "accept every pending suggestion"),
)
NAVIGATION_KEYS = (
    ("← / →", "pan a fifth of the view (Shift: a whole view)"), ("Home / End", "the start / the end"),
    ("wheel, Ctrl++ / Ctrl+-, Ctrl+0", "zoom, fit"), ("middle drag, Shift+drag", "pan"),
    ("drag / Ctrl+drag in a plot", "select a span / a time-frequency box"), ("click in a plot", "move the cursor"),
    ("Space", "play or pause the selection (or from the cursor)"),
)
KEY_SECTIONS = {"Annotate: labels lane": LABEL_KEYS, "Annotate: suggestions lane": SUGGESTION_KEYS,
                "Annotate: moving about": NAVIGATION_KEYS}


def _help(keys) -> str:
    return "; ".join(f"{k}: {what}" for k, what in keys)


LABEL_HELP = _help(LABEL_KEYS)
SUGGESTION_HELP = _help(SUGGESTION_KEYS)


class RegionLane(QWidget):
    selected = Signal(object)        # region id or None
    edited = Signal(str)             # a short description of what was done, for the status bar

    def __init__(self, kind: str = LABELS, parent=None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.track: RegionTrack | None = None
        self.labels: list[str] = []
        self.selection: tuple[float, float] | None = None  # the view's time selection, for "N"
        self.selection_band: tuple[float, float] | None = None  # and its frequency band (Hz), if any
        self.selected_id: str | None = None
        self.picker: QMenu | None = None
        self._range = (0.0, 1.0)
        self._drag: dict | None = None
        self._unsubscribe = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setMinimumHeight(34)
        self.setMaximumHeight(44)
        self._x_offset, self._x_width = 0.0, None  # the plots' data area, so lanes line up with them
        self.setToolTip(LABEL_HELP if kind == LABELS else SUGGESTION_HELP)

    # ---- model ------------------------------------------------------------------------
    def set_track(self, track: RegionTrack | None) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.track, self.selected_id, self._drag = track, None, None
        self._unsubscribe = track.subscribe(self._on_track_changed) if track is not None else None
        self.update()

    def _on_track_changed(self, _change) -> None:
        if self.selected_id is not None and not (self.track is not None and self.track.has(self.selected_id)
                                                 and self._is_mine(self.track.get(self.selected_id))):
            self.selected_id = None
        self.update()

    def set_range(self, start_s: float, end_s: float, x_offset: float | None = None,
                  x_width: float | None = None) -> None:
        """The visible time range and, optionally, the pixels it spans (the plots' data area)."""
        self._range = (float(start_s), max(float(end_s), float(start_s) + 1e-9))
        if x_offset is not None:
            self._x_offset, self._x_width = float(x_offset), x_width
        self.update()

    def visible_regions(self) -> list[Region]:
        """Every region this lane shows, over the whole file."""
        if self.track is None:
            return []
        if self.kind == LABELS:
            return self.track.accepted()
        return [r for r in self.track.regions if self._is_mine(r)]

    def shown_regions(self) -> list[Region]:
        """This lane's regions in the visible time range (found through the track's index)."""
        if self.track is None:
            return []
        return [r for r in self.track.between(*self._range) if self._is_mine(r)]

    def _is_mine(self, region: Region) -> bool:
        if self.kind == LABELS:
            return region.state == ACCEPTED
        return region.source == SUGGESTION and region.state in (PENDING, REJECTED)

    def select(self, region_id: str | None) -> None:
        self.selected_id = region_id
        self.selected.emit(region_id)
        self.update()

    # ---- geometry ---------------------------------------------------------------------
    def _span_px(self) -> float:
        return max(self._x_width if self._x_width is not None else self.width() - self._x_offset, 1.0)

    def x_of(self, time_s: float) -> float:
        t0, t1 = self._range
        return self._x_offset + (time_s - t0) / (t1 - t0) * self._span_px()

    def time_of(self, x: float) -> float:
        t0, t1 = self._range
        return t0 + (x - self._x_offset) / self._span_px() * (t1 - t0)

    def hit(self, x: float) -> tuple[Region, str] | None:
        """The region under ``x`` and the part hit: ``start`` or ``end`` edge, or ``inside``."""
        best = None
        near = self.time_of(x - EDGE_PX), self.time_of(x + EDGE_PX)
        for r in (r for r in self.track.between(*near) if self._is_mine(r)) if self.track is not None else ():
            x0, x1 = self.x_of(r.start_s), self.x_of(r.end_s)
            if abs(x - x0) <= EDGE_PX:
                return r, "start"
            if abs(x - x1) <= EDGE_PX:
                return r, "end"
            if x0 <= x <= x1:
                best = (r, "inside")
        return best

    # ---- mouse ------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.button() != Qt.MouseButton.LeftButton or self.track is None:
            return super().mousePressEvent(event)
        self.setFocus()
        x = event.position().x()
        found = self.hit(x)
        if found is None:
            self.select(None)
            if self.kind == LABELS:
                self._drag = {"mode": "create", "x": x, "start": self.time_of(x), "end": self.time_of(x)}
            return
        region, part = found
        self.select(region.id)
        if self.kind == LABELS:
            mode = {"start": "resize-start", "end": "resize-end", "inside": "move"}[part]
            self._drag = {"mode": mode, "x": x, "id": region.id, "start": region.start_s, "end": region.end_s,
                          "orig": (region.start_s, region.end_s)}

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        x = event.position().x()
        drag = self._drag
        if drag is None:
            found = self.hit(x) if self.kind == LABELS else None
            shape = Qt.CursorShape.SizeHorCursor if found and found[1] != "inside" else Qt.CursorShape.ArrowCursor
            self.setCursor(shape)
            return
        t = self.time_of(x)
        if drag["mode"] == "create":
            drag["end"] = t
        elif drag["mode"] == "resize-start":
            drag["start"] = t
        elif drag["mode"] == "resize-end":
            drag["end"] = t
        else:
            delta = t - self.time_of(drag["x"])
            delta = max(delta, -drag["orig"][0])
            drag["start"], drag["end"] = drag["orig"][0] + delta, drag["orig"][1] + delta
        self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        drag, self._drag = self._drag, None
        if drag is None or event.button() != Qt.MouseButton.LeftButton or self.track is None:
            return super().mouseReleaseEvent(event)
        start, end = sorted((max(drag["start"], 0.0), max(drag["end"], 0.0)))
        if drag["mode"] == "create":
            if abs(self.x_of(end) - self.x_of(start)) >= MIN_CREATE_PX:
                region = self.track.add(start, end, "")
                self.select(region.id)
                self.edited.emit(f"New region {start:.3f}–{end:.3f} s: press 1–9 or a letter to label it")
        elif (start, end) != drag["orig"]:
            self.track.update(drag["id"], start_s=start, end_s=end)
            self.edited.emit(f"Region now {start:.3f}–{end:.3f} s")
        self.update()

    # ---- keys -------------------------------------------------------------------------
    def focusNextPrevChild(self, next_child: bool) -> bool:  # noqa: N802 - Qt API
        """On the suggestion lane Tab means "next suggestion": the focus (and with it A, R…) stays."""
        return False if self.kind == SUGGESTIONS and self.track is not None else super().focusNextPrevChild(next_child)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.track is None or event.modifiers() & (Qt.KeyboardModifier.ControlModifier
                                                      | Qt.KeyboardModifier.AltModifier):
            return super().keyPressEvent(event)
        key, text = event.key(), event.text()
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier and text.isalpha():
            text = text.upper()  # Shift+letter reads the same whatever text the platform sent with it
        handled = self._suggestion_key(key, text) if self.kind == SUGGESTIONS else self._label_key(key, text)
        if handled:
            event.accept()
        else:
            super().keyPressEvent(event)

    def _label_key(self, key: int, text: str) -> bool:
        if key == Qt.Key.Key_N and self.selection and self.selection[1] > self.selection[0]:
            band = {"low_hz": self.selection_band[0], "high_hz": self.selection_band[1]} if self.selection_band else {}
            region = self.track.add(*self.selection, "", **band)
            self.select(region.id)
            self.edited.emit("New region from the selection: press 1–9 or a letter to label it")
            return True
        if self.selected_id is None:
            return False
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.track.remove(self.selected_id)
            self.select(None)
            self.edited.emit("Region deleted (Ctrl+Z undoes)")
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.open_picker()
            return True
        label = self.label_for_key(text)
        if label is not None:
            self.track.update(self.selected_id, label=label)
            self.edited.emit(f"Labelled {label}")
            return True
        return False

    def _suggestion_key(self, key: int, text: str) -> bool:
        if key == Qt.Key.Key_A and text == "A":  # Shift+A (keyPressEvent passes "A" for it)
            self.accept_all()
            return True
        if key == Qt.Key.Key_Backtab:
            self.select_previous()
            return True
        if self.selected_id is None:
            if key in (Qt.Key.Key_Tab, Qt.Key.Key_Space, Qt.Key.Key_A, Qt.Key.Key_R):
                self.select_next()
                return True
            return False
        current = self.selected_id
        if key in (Qt.Key.Key_A, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            region = self.track.accept(current)
            self.edited.emit(f"Accepted {region.label}")
        elif key in (Qt.Key.Key_R, Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.track.reject(current)
            self.edited.emit("Rejected")
        elif key == Qt.Key.Key_Tab:
            pass
        else:
            label = self.label_for_key(text)
            if label is None:
                return False
            self.track.accept(current, label=label)
            self.edited.emit(f"Accepted as {label}")
        self.select_next(after=current)
        return True

    def label_for_key(self, text: str) -> str | None:
        """``1``-``9``: the n-th label; a letter: the first label starting with it."""
        if not text or not self.labels:
            return None
        if text.isdigit() and text != "0":
            index = int(text) - 1
            return self.labels[index] if index < len(self.labels) else None
        if text.isalpha():
            return next((label for label in self.labels if label.lower().startswith(text.lower())), None)
        return None

    def select_next(self, after: str | None = None) -> None:
        """Select the next pending suggestion in time (after the region ``after``)."""
        pending = [r for r in self.visible_regions() if r.state == PENDING]
        if after is not None and self.track is not None:
            anchor = self.track.get(after)
            pending = [r for r in pending if (r.start_s, r.id) > (anchor.start_s, anchor.id)] or pending
        self.select(pending[0].id if pending else None)

    def select_previous(self) -> None:
        pending = [r for r in self.visible_regions() if r.state == PENDING]
        if self.selected_id is not None and self.track is not None:
            anchor = self.track.get(self.selected_id)
            pending = [r for r in pending if (r.start_s, r.id) < (anchor.start_s, anchor.id)] or pending
        self.select(pending[-1].id if pending else None)

    def accept_all(self) -> int:
        """Accept every pending suggestion, as one change (one Ctrl+Z undoes it)."""
        accepted = self.track.accept_all() if self.track is not None else []
        self.select(None)
        self.edited.emit(f"Accepted all {len(accepted)} suggestion(s) (Ctrl+Z undoes)")
        return len(accepted)

    def open_picker(self) -> QMenu:
        menu = QMenu(self)
        for i, label in enumerate(self.labels):
            action = menu.addAction(f"{i + 1}  {label}" if i < 9 else label)
            action.triggered.connect(lambda _checked=False, chosen=label: self._on_picker_chosen(chosen))
        region = self.track.get(self.selected_id) if self.selected_id else None
        x = int(self.x_of(region.start_s)) if region else 0
        self.picker = menu
        menu.popup(self.mapToGlobal(QPoint(max(x, 0), self.height())))
        return menu

    def _on_picker_chosen(self, label: str) -> None:
        if self.selected_id is not None and self.track is not None:
            if self.kind == SUGGESTIONS:
                self.track.accept(self.selected_id, label=label)
            else:
                self.track.update(self.selected_id, label=label)
            self.edited.emit(f"Labelled {label}")

    # ---- painting ---------------------------------------------------------------------
    def color_of(self, label: str) -> QColor:
        index = self.labels.index(label) if label in self.labels else sum(map(ord, label)) % len(PALETTE)
        return QColor(PALETTE[index % len(PALETTE)] if label else "#6e7681")

    def _paint_density(self, painter: QPainter, regions: list[Region], about: int, h: int) -> None:
        width = max(int(self.width()), 1)
        columns = np.zeros(width + 1, dtype=np.int64)
        t0, t1 = self._range
        scale = self._span_px() / (t1 - t0)
        starts = np.fromiter((r.start_s for r in regions), dtype=np.float64, count=len(regions))
        ends = np.fromiter((r.end_s for r in regions), dtype=np.float64, count=len(regions))
        x0 = np.clip(self._x_offset + (starts - t0) * scale, 0, width).astype(np.int64)
        x1 = np.clip(self._x_offset + (ends - t0) * scale, 0, width).astype(np.int64)
        np.add.at(columns, x0, 1)
        np.add.at(columns, np.maximum(x1, x0 + 1).clip(max=width), -1)
        covered = np.cumsum(columns)[:width] > 0
        edges = np.flatnonzero(np.diff(np.r_[0, covered.astype(np.int8), 0]))
        fill = QColor(PALETTE[0])
        fill.setAlpha(110)
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            painter.fillRect(QRectF(float(a), 3, float(b - a), h - 6), fill)
        painter.setPen(QColor("#f0f6fc"))
        painter.drawText(QRectF(self._x_offset + 4, 0, 400, h), Qt.AlignmentFlag.AlignVCenter,
                         f"about {about:,} regions here: zoom in to see each")

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#161b22"))
        h = self.height()
        near = self.track.count_between(*self._range) if self.track is not None else 0
        many = near > MAX_DRAWN
        if many:  # too many to tell apart: where regions lie (from an even sample), one bar per pixel run
            sample = self.track.between(*self._range, most=DENSITY_SAMPLE)
            mine = [r for r in sample if self._is_mine(r)]
            if mine:
                self._paint_density(painter, mine, near * len(mine) // max(len(sample), 1), h)
        shown = [] if many else self.shown_regions()
        if many and self.selected_id is not None and self.track.has(self.selected_id):
            shown = [r for r in [self.track.get(self.selected_id)] if self._is_mine(r)]
        spans = [(r, r.start_s, r.end_s) for r in shown]
        drag = self._drag
        if drag is not None:
            spans = [(r, drag["start"], drag["end"]) if r.id == drag.get("id") else (r, a, b) for r, a, b in spans]
            if drag["mode"] == "create":
                spans.append((None, *sorted((drag["start"], drag["end"]))))
        for region, start, end in spans:
            x0, x1 = self.x_of(min(start, end)), self.x_of(max(start, end))
            if x1 < 0 or x0 > self.width():
                continue
            rect = QRectF(x0, 3, max(x1 - x0, 2.0), h - 6)
            label = region.label if region else ""
            color = self.color_of(label)
            if region is not None and region.state == REJECTED:
                color = QColor("#30363d")
            fill = QColor(color)
            fill.setAlpha(70 if region is None or region.state != ACCEPTED or self.kind == SUGGESTIONS else 150)
            painter.fillRect(rect, fill)
            pen = QPen(QColor("#f0f6fc") if region is not None and region.id == self.selected_id else color,
                       2 if region is not None and region.id == self.selected_id else 1)
            if region is not None and region.state == PENDING:
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawRect(rect)
            text = label or "?"
            if region is not None and region.confidence is not None and self.kind == SUGGESTIONS:
                text = f"{text} {region.confidence:.2f}"
            painter.setPen(QColor("#f0f6fc"))
            painter.drawText(rect.adjusted(4, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             text)
        margin = int(self._x_offset)
        if margin > 0:  # the lane's name in the plots' axis margin
            painter.fillRect(0, 0, margin, h, QColor("#101114"))
            painter.setPen(QColor("#8b949e"))
            painter.drawText(QRectF(0, 0, margin - 6, h), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             "labels" if self.kind == LABELS else "suggestions")
        painter.end()
