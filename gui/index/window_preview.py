"""See and hear one window of an index: its spectrogram tile and a Play button (Space).

The map shows the window a click chose here. Reading the window and drawing its tile run in a
:class:`gui.workers.job_worker.JobWorker` (:func:`gui.index.tiles.tiles_job`: a seek into the
recording, never the whole file); the samples come back with the tile, so Play reads nothing.
A newer choice cancels a tile still being made.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui.index.tiles import TILE_PX, Tile, TilesRequest, tile_pixmap, tiles_job
from gui.workers.job_worker import JobWorker
from gui.workers.playback import Player


class WindowPreview(QWidget):
    def __init__(self, parent: QWidget | None = None, *, use_audio_device: bool = True) -> None:
        super().__init__(parent)
        self.player = Player(self, use_device=use_audio_device)
        self.tile: Tile | None = None
        self.worker: JobWorker | None = None
        self.image = QLabel("Click a dot to see and hear its window")
        self.image.setFixedSize(*TILE_PX)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setWordWrap(True)
        self.image.setStyleSheet("QLabel { background: #f4f4f4; color: #666; }")
        self.play_button = QPushButton("Play (Space)")
        self.play_button.setToolTip("Play the chosen window (Space)")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(self.play)
        QShortcut(QKeySequence(Qt.Key.Key_Space), parent or self, activated=self.play)
        row = QHBoxLayout()
        row.addWidget(self.image)
        buttons = QVBoxLayout()
        buttons.addWidget(self.play_button)
        buttons.addStretch(1)
        row.addLayout(buttons)
        row.setContentsMargins(0, 0, 0, 0)
        self.setLayout(row)

    def show_window(self, folder: Path, row: int, recording: str, start_s: float, end_s: float) -> JobWorker:
        """Read the window and draw its tile, off the GUI thread."""
        self.player.stop()
        if self.worker is not None:
            self.worker.cancel()
        self.tile = None
        self.play_button.setEnabled(False)
        self.image.setText("Reading…")   # (clears the last tile)
        worker = self.worker = JobWorker(tiles_job, TilesRequest(Path(folder), ((row, recording, start_s, end_s),)),
                                         what="Reading the window", owner=self)
        worker.finished.connect(lambda tiles, w=worker: self._on_tile(w, tiles[0]))
        worker.failed.connect(lambda message, w=worker: self._on_failed(w, message))
        worker.ended.connect(lambda w=worker: self._on_ended(w))
        return worker.start()

    def _on_tile(self, worker: JobWorker, tile: Tile) -> None:
        if worker is not self.worker:
            return                                   # a newer choice is on its way
        if tile.error:
            self.image.setText(f"Cannot read the window: {tile.error}")
            return
        self.tile = tile
        self.image.setPixmap(tile_pixmap(tile.grey))
        self.play_button.setEnabled(len(tile.samples) > 0)

    def _on_failed(self, worker: JobWorker, message: str) -> None:
        if worker is self.worker:
            self.image.setText(f"Cannot read the window: {message}")

    def _on_ended(self, worker: JobWorker) -> None:
        if worker is self.worker:
            self.worker = None

    def play(self) -> None:
        if self.tile is None or not len(self.tile.samples):
            return
        self.player.load(self.tile.samples, self.tile.sample_rate_hz)
        self.player.play()

    def shutdown(self) -> None:
        self.player.stop()
        if self.worker is not None:
            self.worker.close(2.0)
            self.worker = None

