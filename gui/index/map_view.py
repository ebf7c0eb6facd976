"""The index map: every live window of an index as a dot on its two PCA axes, coloured by the
model's answer or by recording; a click names the window (recording, start, end).

The projection (:func:`engine.index.projection.projection_job`) runs in a
:class:`gui.workers.job_worker.JobWorker`, never on the GUI thread. The dots are one
:class:`gui.index.dots.DotsItem` (numpy rasterises them into one image per paint), because one
``ScatterPlotItem`` per palette colour, a single brush each and no pens, took 55-117 ms to paint
100,000 dots on the shared 2-core machine and panning stalled past 100 ms; the measured figures
are in gui/index/dots.py and docs/INDEX.md (``tests/gui/test_index_map_stalls.py``).

A chosen window opens in the Annotate tab (``annotate_requested``, connected by the main window)
to be heard, seen and labelled there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.index.labelling import LabelWindowsRequest, label_windows_job, labelled_windows
from engine.index.projection import Projection, ProjectionRequest, projection_job
from engine.index.search import Index
from gui.index.dots import DotsItem, argb
from gui.index.lasso import LassoViewBox, inside
from gui.index.window import IndexWindow
from gui.index.window_preview import WindowPreview
from gui.workers.job_worker import JobWorker, call_job

# tab20's colours, strong ones first: distinct for up to 10 keys, told apart by shade up to 20
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
           "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5")
_PIXELS = np.array([argb(colour) for colour in PALETTE], np.uint32)
_CHOSEN_PIXEL = argb("#000000")   # lassoed dots are drawn black
COLOUR_BY = (("model answer", "answer"), ("your labels", "person"), ("recording", "recording"))
UNLABELLED_COLOUR = "#d0d0d0"
PICK_PX = 8                 # a click this close to a dot chooses it


class IndexMapView(QWidget):
    """The map of one index. ``open_index(root)`` projects it in a worker; ``set_projection`` draws."""

    window_chosen = Signal(str, float, float)     # recording (relative to the indexed folder), start s, end s
    annotate_requested = Signal(str, float, float)  # the chosen window's recording (a full path), start s, end s
    like_requested = Signal(str, float, float)      # the same: More like this (the main window opens the Label window)
    projected = Signal()                          # a projection is drawn (tests, status)
    labelled = Signal()                           # a labelling of lassoed windows ended

    def __init__(self, parent: QWidget | None = None, *, use_audio_device: bool = True) -> None:
        super().__init__(parent)
        self.projection: Projection | None = None
        self.worker: JobWorker | None = None
        self.chosen: int | None = None            # the drawn point last clicked
        self._keys = np.zeros(0, np.int32)        # per point: the colour key (label or recording index)
        self.root: Path | None = None
        self.selected = np.zeros(0, np.int64)   # the lassoed points
        self.label_worker: JobWorker | None = None
        self.person: tuple[list[str], np.ndarray] | None = None   # (names, key per dot); key 0 = unlabelled
        self.person_worker: JobWorker | None = None
        self.plot = pg.PlotWidget(background="w", viewBox=LassoViewBox())
        self.plot.getViewBox().lassoed.connect(self.select_loop)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        for axis in ("left", "bottom"):
            self.plot.getPlotItem().getAxis(axis).setPen(pg.mkPen("#888"))
            self.plot.getPlotItem().getAxis(axis).setTextPen(pg.mkPen("#444"))
            self.plot.getPlotItem().getAxis(axis).enableAutoSIPrefix(False)   # no "(x0.001)": PCA units mean nothing
        self.dots = DotsItem()
        self.plot.addItem(self.dots)
        self.marker = pg.ScatterPlotItem(pxMode=True, size=14, pen=pg.mkPen("k", width=2), brush=None)
        self.plot.addItem(self.marker)
        self.plot.scene().sigMouseClicked.connect(self._on_scene_clicked)

        self.colour_box = QComboBox()
        for text, key in COLOUR_BY:
            self.colour_box.addItem(text, key)
        self.colour_box.currentIndexChanged.connect(self._draw)
        self.legend = QListWidget()
        self.legend.setMaximumWidth(260)
        self.status = QLabel("Open an index to see its map")
        self.chosen_label = QLabel("Click a dot to see which window it is")
        self.chosen_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.annotate_button = QPushButton("Open in Annotate")
        self.annotate_button.setToolTip("See, hear and label the chosen window in the Annotate tab")
        self.annotate_button.setEnabled(False)
        self.annotate_button.clicked.connect(self._request_annotate)
        self.like_button = QPushButton("More like this…")
        self.like_button.setToolTip("The windows of this index most like the chosen one, to label in the Label window")
        self.like_button.setEnabled(False)
        self.like_button.clicked.connect(lambda: self._request_annotate(self.like_requested))

        side = QVBoxLayout()
        row = QHBoxLayout()
        row.addWidget(QLabel("Colour by:"))
        row.addWidget(self.colour_box, 1)
        side.addLayout(row)
        side.addWidget(self.legend, 1)
        self.preview = WindowPreview(self, use_audio_device=use_audio_device)
        side.addWidget(self.preview)
        side.addWidget(QLabel("<b>Shift+drag</b> a loop to choose windows; <b>Esc</b> lets go"))
        self.label_edit = QLineEdit()
        self.label_edit.setPlaceholderText("a label for the chosen windows")
        self.label_edit.returnPressed.connect(self.label_selected)
        self.label_button = QPushButton("Label the chosen windows")
        self.label_button.setToolTip("Save each lassoed window as a region with this label in its recording's "
                                     "sidecar (undoable in the Annotate tab)")
        self.label_button.setEnabled(False)
        self.label_button.clicked.connect(self.label_selected)
        side.addWidget(self.label_edit)
        side.addWidget(self.label_button)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, activated=lambda: self.select_loop(None))
        top = QHBoxLayout()
        top.addWidget(self.plot, 1)
        top.addLayout(side)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        chosen = QHBoxLayout()
        chosen.addWidget(self.chosen_label, 1)
        chosen.addWidget(self.annotate_button)
        chosen.addWidget(self.like_button)
        layout.addLayout(chosen)
        layout.addWidget(self.status)

    # ---- projecting ---------------------------------------------------------------------------
    def open_index(self, root: str | Path) -> JobWorker:
        """Project the index at ``root`` off the GUI thread; the map is drawn when it is done."""
        self.shutdown()
        self.root = Path(root)
        self.status.setText(f"Projecting {root}…")
        worker = self.worker = JobWorker(projection_job, ProjectionRequest(Path(root)), what="Mapping the index",
                                         owner=self)
        worker.progressed.connect(lambda p: self.status.setText(p.message))
        worker.finished.connect(self.set_projection)
        worker.failed.connect(lambda message: self.status.setText(f"Cannot map the index: {message}"))
        worker.cancelled.connect(lambda _m: self.status.setText("Mapping cancelled"))
        worker.ended.connect(lambda w=worker: self._on_ended(w))
        return worker.start()

    def _on_ended(self, worker: JobWorker) -> None:
        if self.worker is worker:
            self.worker = None

    def shutdown(self) -> None:
        """Cancel a projection in flight (its thread is joined by the registry, never destroyed running)."""
        if self.worker is not None:
            self.worker.close(2.0)
            self.worker = None
        self.preview.shutdown()

    def set_projection(self, projection: Projection) -> None:
        self.projection, self.chosen = projection, None
        self.selected = np.zeros(0, np.int64)
        self.person = None
        self._update_label_button()
        self.marker.setData([], [])
        self.dots.set_points(projection.xy, np.zeros(len(projection), np.uint32))
        self._draw()
        self.plot.getPlotItem().setLabel("bottom", f"PC 1 ({projection.explained[0]:.0%} of the variance)")
        self.plot.getPlotItem().setLabel("left", f"PC 2 ({projection.explained[1]:.0%})")
        if len(projection):
            low, high = np.percentile(projection.xy, [0.5, 99.5], axis=0)
            pad = 0.08 * np.maximum(high - low, 1e-6)
            self.plot.getViewBox().setRange(xRange=(low[0] - pad[0], high[0] + pad[0]),
                                            yRange=(low[1] - pad[1], high[1] + pad[1]), padding=0)
        self.status.setText(f"{len(projection):,} windows of {len(projection.recordings):,} recordings; "
                            f"PCA of the embeddings (drag to pan, wheel to zoom)")
        self.projected.emit()

    # ---- drawing ------------------------------------------------------------------------------
    @property
    def colour_by(self) -> str:
        return self.colour_box.currentData()

    def _draw(self, *_args) -> None:
        """Colour every dot by its key (label or recording), :data:`PALETTE` repeating past 20 keys;
        by the person's labels, the unlabelled windows grey (read from the sidecars in a worker)."""
        projection = self.projection
        if projection is None:
            return
        by = self.colour_by
        if by == "person":
            if self.person is None:
                self._read_person_labels()
                return
            names, self._keys = self.person
            pixels = np.concatenate([[argb(UNLABELLED_COLOUR)], _PIXELS]).astype(np.uint32)
            colours = pixels[np.where(self._keys == 0, 0, 1 + (self._keys - 1) % len(PALETTE))]
        else:
            self._keys = projection.answer if by == "answer" else projection.recording
            names = projection.labels if by == "answer" else projection.recordings
            colours = _PIXELS[self._keys % len(PALETTE)]
        colours[self.selected] = _CHOSEN_PIXEL
        self.dots.set_colours(colours)
        counts = np.bincount(self._keys, minlength=len(names))
        self.legend.clear()
        for key, name in enumerate(names):
            if counts[key]:
                swatch = QPixmap(12, 12)
                swatch.fill(QColor(self._colour_of_key(key)))
                self.legend.addItem(QListWidgetItem(QIcon(swatch), f"{name}  ({counts[key]:,})"))
        if len(names) > len(PALETTE) + (by == "person"):
            self.legend.addItem(f"({len(names)} {'recordings' if by == 'recording' else 'labels'}: colours repeat "
                                f"every {len(PALETTE)})")

    def _colour_of_key(self, key: int) -> str:
        if self.colour_by == "person":
            return UNLABELLED_COLOUR if key == 0 else PALETTE[(key - 1) % len(PALETTE)]
        return PALETTE[key % len(PALETTE)]

    def _read_person_labels(self) -> None:
        """Which drawn windows a person has labelled, and how: the sidecars, read off the GUI thread."""
        if self.root is None or self.person_worker is not None:
            return
        root, rows = self.root, self.projection.rows

        def read() -> tuple[list[str], np.ndarray]:
            done = labelled_windows(Index(root))
            names = ["not labelled"] + sorted(set(done.values()))
            key_of = {name: k for k, name in enumerate(names)}
            return names, np.array([key_of[done[r]] if r in done else 0 for r in rows.tolist()], np.int64)

        self.status.setText("Reading your labels from the recordings' sidecars…")
        worker = self.person_worker = JobWorker(call_job(read), what="Reading the labels", owner=self)
        worker.finished.connect(self._on_person_labels)
        worker.failed.connect(lambda message: self.status.setText(f"Cannot read the labels: {message}"))
        worker.ended.connect(lambda: setattr(self, "person_worker", None))
        worker.start()

    def _on_person_labels(self, person: tuple[list[str], np.ndarray]) -> None:
        self.person = person
        labelled = int(np.count_nonzero(person[1]))
        self.status.setText(f"{labelled:,} of {len(person[1]):,} windows labelled by you")
        self._draw()

    def point_count(self) -> int:
        """Dots drawn, over all items."""
        return len(self.dots)

    def colour_of_point(self, i: int) -> str:
        """The colour point ``i`` of the projection is drawn in (``#rrggbb``; lassoed dots are black)."""
        return "#000000" if np.any(self.selected == i) else self._colour_of_key(int(self._keys[i]))

    # ---- choosing -----------------------------------------------------------------------------
    def _on_scene_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.projection is None or not len(self.projection):
            return
        box = self.plot.getViewBox()
        if not box.sceneBoundingRect().contains(event.scenePos()):
            return
        where = box.mapSceneToView(event.scenePos())
        i = self.nearest(where.x(), where.y())
        if i is not None:
            self.choose(i)

    def nearest(self, x: float, y: float) -> int | None:
        """The drawn point nearest to view position (x, y), if within :data:`PICK_PX` pixels."""
        width_px, height_px = self.plot.getViewBox().viewPixelSize()
        xy = self.projection.xy
        d2 = ((xy[:, 0] - x) / width_px) ** 2 + ((xy[:, 1] - y) / height_px) ** 2
        i = int(np.argmin(d2))
        return i if d2[i] <= PICK_PX ** 2 else None

    def choose(self, i: int) -> None:
        """Mark point ``i``, name its window and say so with ``window_chosen``."""
        self.chosen = i
        recording, start_s, end_s = self.projection.window_of(i)
        self.marker.setData([float(self.projection.xy[i, 0])], [float(self.projection.xy[i, 1])])
        answer = self.projection.labels[int(self.projection.answer[i])]
        self.chosen_label.setText(f"{recording}  {start_s:.2f}–{end_s:.2f} s  (the model says {answer})")
        self.annotate_button.setEnabled(self.projection.folder is not None)
        self.like_button.setEnabled(self.projection.folder is not None)
        if self.projection.folder is not None:
            self.preview.show_window(Path(self.projection.folder), int(self.projection.rows[i]), recording,
                                     start_s, end_s)
        self.window_chosen.emit(recording, start_s, end_s)

    def _request_annotate(self, signal=None) -> None:
        if self.chosen is None or self.projection is None or self.projection.folder is None:
            return
        recording, start_s, end_s = self.projection.window_of(self.chosen)
        (signal or self.annotate_requested).emit(str(Path(self.projection.folder) / recording), start_s, end_s)


    # ---- lassoing and labelling ----------------------------------------------------------------
    def select_loop(self, loop: np.ndarray | None) -> int:
        """Choose the dots inside ``loop`` (data coordinates; None lets every one go); returns how many."""
        if self.projection is None:
            return 0
        chosen = np.flatnonzero(inside(self.projection.xy, loop)) if loop is not None else np.zeros(0, np.int64)
        self.selected = chosen
        self._draw()
        self._update_label_button()
        if loop is not None:
            self.status.setText(f"{len(chosen):,} window(s) chosen: type a label and press Enter to label them")
        return len(chosen)

    def _update_label_button(self) -> None:
        n = len(self.selected)
        self.label_button.setText(f"Label the {n:,} chosen window(s)" if n else "Label the chosen windows")
        self.label_button.setEnabled(bool(n) and self.label_worker is None)

    def label_selected(self) -> JobWorker | None:
        """Label every lassoed window with the typed label, in a worker (sidecars are files)."""
        label = self.label_edit.text().strip()
        if self.projection is None or self.root is None or not len(self.selected) or self.label_worker is not None:
            return None
        if not label:
            self.status.setText("Type a label for the chosen windows first")
            self.label_edit.setFocus()
            return None
        windows = tuple(self.projection.window_of(int(i)) for i in self.selected)
        worker = self.label_worker = JobWorker(label_windows_job, LabelWindowsRequest(self.root, windows, label),
                                               what="Labelling windows", owner=self)
        worker.progressed.connect(lambda p: self.status.setText(p.message))
        worker.finished.connect(lambda n: self.status.setText(
            f"Labelled {n:,} window(s) {label!r}: regions in each recording's sidecar"))
        worker.failed.connect(lambda message: self.status.setText(f"Cannot label the windows: {message}"))
        worker.ended.connect(self._on_labelled)
        self._update_label_button()
        return worker.start()

    def _on_labelled(self) -> None:
        self.label_worker = None
        self.person = None                    # read again: the new labels colour the map
        self.select_loop(None)
        self.labelled.emit()


class IndexMapWindow(IndexWindow):
    def __init__(self, root: str | Path, parent: QWidget | None = None, *, use_audio_device: bool = True) -> None:
        super().__init__(root, "Index map", parent)
        self.show_view(IndexMapView(self, use_audio_device=use_audio_device))


def open_index_map(parent: QWidget, start_dir: str = "") -> IndexMapWindow | None:
    """Ask for an index folder (``main.py index`` makes one) and show its map in a window."""
    folder = QFileDialog.getExistingDirectory(parent, "Open an index folder", start_dir)
    if not folder:
        return None
    window = IndexMapWindow(folder, parent, use_audio_device=getattr(parent, "_use_audio_device", True))
    window.show()
    return window
