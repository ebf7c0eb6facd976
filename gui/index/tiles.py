"""Small spectrogram tiles of an index's windows, computed off the GUI thread.

:func:`tiles_job` (the engine's job contract, run in a :class:`gui.workers.job_worker.JobWorker`)
reads each window from its recording (:class:`engine.audio.long.LongAudio`, a seek, never the whole
file), computes the display spectrogram (:func:`engine.audio.spectrogram.spectrogram_db`) and
scales it to a :data:`TILE_PX` grey image; the samples come back too, so playing a window needs no
more reading. The GUI thread only colours the grey image (:func:`tile_pixmap`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QImage, QPixmap

from engine.audio.long import LongAudio
from engine.audio.spectrogram import spectrogram_db
from engine.errors import EarmarkError
from engine.jobs import CancelToken, Progress

TILE_PX = (168, 96)          # width, height
DB_RANGE = 80.0
QUIET_TOP_DB = -20.0         # a tile's scale tops out at its loudest bin or this, whichever is higher:
                             # a window of quiet noise stays dark instead of being stretched to full colour


@dataclass(frozen=True)
class Tile:
    row: int
    samples: np.ndarray      # float32 mono, the window
    sample_rate_hz: int
    grey: np.ndarray         # uint8 [height, width], low frequencies at the bottom
    error: str = ""


@dataclass(frozen=True)
class TilesRequest:
    folder: Path
    windows: tuple[tuple[int, str, float, float], ...]    # (row, recording, start s, end s)


def tiles_job(request: TilesRequest, *, on_progress, cancel: CancelToken) -> list[Tile]:
    tiles = []
    for step, (row, recording, start_s, end_s) in enumerate(request.windows):
        cancel.raise_if_cancelled("drawing the tiles")
        try:
            with LongAudio(request.folder / recording) as audio:
                samples, rate = audio.read(start_s, end_s), audio.sample_rate_hz
        except (EarmarkError, OSError) as exc:
            tiles.append(Tile(row, np.zeros(0, np.float32), 16000, np.zeros(TILE_PX[::-1], np.uint8), str(exc)))
            continue
        tiles.append(Tile(row, samples, rate, grey_tile(samples, rate)))
        on_progress(Progress("tiles", step + 1, len(request.windows), f"{recording} {start_s:.1f} s"))
    return tiles


def grey_tile(samples: np.ndarray, sample_rate_hz: int, size_px: tuple[int, int] = TILE_PX) -> np.ndarray:
    """The window's spectrogram as a ``size_px`` (width, height) uint8 image: :data:`DB_RANGE` dB under its
    loudest bin (or under :data:`QUIET_TOP_DB`, for a quiet window)."""
    width, height = size_px
    n_fft = 256 if sample_rate_hz <= 16000 else 512
    db = spectrogram_db(samples, sample_rate_hz, n_fft=n_fft, hop_length=n_fft // 4).db   # [frames, freqs]
    if db.size == 0:
        return np.zeros((height, width), np.uint8)
    top = max(float(db.max()), QUIET_TOP_DB)
    scaled = np.clip((db - (top - DB_RANGE)) / DB_RANGE, 0.0, 1.0)
    cols = np.minimum((np.arange(width) * db.shape[0]) // width, db.shape[0] - 1)
    rows = np.minimum((np.arange(height) * db.shape[1]) // height, db.shape[1] - 1)[::-1]
    return np.ascontiguousarray((scaled[cols][:, rows].T * 255).astype(np.uint8))


_LUT: np.ndarray | None = None


def tile_pixmap(grey: np.ndarray) -> QPixmap:
    """The grey tile coloured as the app's spectrograms are (inferno)."""
    global _LUT
    if _LUT is None:
        _LUT = np.ascontiguousarray(pg.colormap.get("inferno").getLookupTable(nPts=256, alpha=False), np.uint8)
    rgb = np.ascontiguousarray(_LUT[grey])
    height, width = grey.shape
    image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())
