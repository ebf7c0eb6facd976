"""Page 3: choose and tune augmentations, then listen to and look at each variant of a real clip.

A chosen augmentation becomes a cached *variant*: every training clip gets one extra copy
with parameters drawn from the ranges set here (the cache draws from
``default_rng([seed, clip, variant])``, as this preview does). Validation never sees variants.
The variants are rendered by ``trainer.api.render_variants`` (the cache's own code) in a
worker thread; this page only draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from engine.audio.spectrogram import spectrogram_db
from gui.widgets.plots import ClipSpectrogram, ClipWaveform
from gui.wizard.background import BackgroundJobs
from gui.wizard.data_page import ERROR_STYLE, _wrapping_label
from gui.wizard.session import TrainSession
from gui.workers.playback import Player, audible
from trainer import api

PREVIEW_N_FFT = 512
ROW_HEIGHT_PX = 104

class AugmentationEditor(QGroupBox):
    """A checkable box with a (min, max) pair of spin boxes per range argument."""

    def __init__(self, name: str, params: dict[str, Any], parent=None) -> None:
        super().__init__(name.replace("_", " "), parent)
        self.name = name
        self.setCheckable(True)
        self.setChecked(False)
        self.ranges: dict[str, tuple[QDoubleSpinBox, QDoubleSpinBox]] = {}
        self.fixed: dict[str, Any] = {}
        layout = QGridLayout(self)
        for row, (arg, default) in enumerate(params.items()):
            if isinstance(default, tuple) and len(default) == 2:
                low, high = (_spin(v) for v in default)
                self.ranges[arg] = (low, high)
                layout.addWidget(QLabel(arg), row, 0)
                layout.addWidget(low, row, 1)
                layout.addWidget(QLabel("to"), row, 2)
                layout.addWidget(high, row, 3)
            else:
                self.fixed[arg] = default

    def kwargs(self) -> dict[str, Any]:
        out = {arg: (lo.value(), hi.value()) for arg, (lo, hi) in self.ranges.items()}
        return {**self.fixed, **out}

    def set_range(self, arg: str, low: float, high: float) -> None:
        lo, hi = self.ranges[arg]
        lo.setValue(low)
        hi.setValue(high)


def _spin(value: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox(minimum=-100.0, maximum=100.0, decimals=2, singleStep=0.05 if abs(value) < 2 else 0.5)
    spin.setValue(float(value))
    return spin


class VariantRow(QWidget):
    """One variant of the preview clip: name, Play, waveform and spectrogram.

    Rows share one amplitude range and one colour scale (``peak``, ``top_db``), so a
    gain or a noise floor is seen as it is, not normalised away.
    """

    def __init__(self, on_play, parent=None) -> None:
        super().__init__(parent)
        self.samples, self.sample_rate_hz = np.zeros(0, dtype=np.float32), 1
        self.play_button = QPushButton("▶")
        self.play_button.setMinimumWidth(140)
        self.play_button.clicked.connect(lambda: on_play(self))
        self.wave = ClipWaveform()
        self.wave.setDownsampling(auto=True, mode="peak")   # a 5 s clip is 80,000 points
        self.wave.setClipToView(True)
        self.spec = ClipSpectrogram()
        self.spec.getPlotItem().setLabel("left", "Hz")
        for plot in (self.wave, self.spec):
            plot.setMinimumHeight(88)
        self.setFixedHeight(ROW_HEIGHT_PX)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.play_button)
        layout.addWidget(self.wave, 2)
        layout.addWidget(self.spec, 3)

    def show_variant(self, title: str, samples: np.ndarray, sample_rate_hz: int, *, spec, peak: float,
                     top_db: float) -> None:
        self.samples, self.sample_rate_hz = samples, sample_rate_hz
        self.play_button.setText(f"▶ {title}")
        self.wave.show_clip(samples, sample_rate_hz)
        self.wave.setYRange(-peak, peak, padding=0.05)
        self.spec.show_spectrogram(spec.db, samples.size / sample_rate_hz, spec.max_freq_hz)
        self.spec.item.setLevels((top_db - 80.0, top_db))


class AugmentPage(QWizardPage):
    def __init__(self, session: TrainSession, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.setTitle("3 · Augmentation")
        self.setSubTitle("Each chosen augmentation adds one variant of every training clip. "
                         "Preview the variants on a real clip before training.")
        self.editors = [AugmentationEditor(name, params) for name, params in api.augmentations().items()]
        self.jobs = BackgroundJobs(self)
        self.jobs.delivered.connect(self._on_jobs_delivered)
        self.jobs.failed.connect(self._on_jobs_failed)
        self._preview: Preview | None = None
        self._next_row = 0
        self._fill_timer = QTimer(self, singleShot=True, interval=0)   # one row per event-loop turn
        self._fill_timer.timeout.connect(self._update_next_row)
        self.clip_combo = QComboBox()
        self.preview_button = QPushButton("Preview variants")
        self.preview_button.clicked.connect(self._on_preview_clicked)
        self.redraw_button = QPushButton("Another draw")
        self.redraw_button.clicked.connect(self._on_redraw_clicked)
        self.status_label = _wrapping_label(ERROR_STYLE)
        self.player = Player(self)        # the app's one player (no output device: it says so and plays silently)
        self.player.noticed.connect(self.status_label.setText)
        self.rows: list[VariantRow] = []
        self._draw = 0
        self._invalid = False
        editors = QVBoxLayout()
        for editor in self.editors:
            editor.toggled.connect(self._on_choice_changed)
            for low, high in editor.ranges.values():
                low.valueChanged.connect(self._on_choice_changed)
                high.valueChanged.connect(self._on_choice_changed)
            editors.addWidget(editor)
        editors.addStretch(1)
        self.preview_box = QVBoxLayout()
        self.preview_box.addStretch(1)      # rows keep their height: adding one repaints only it
        preview_widget = QWidget()
        preview_widget.setLayout(self.preview_box)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(preview_widget)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Clip"))
        controls.addWidget(self.clip_combo, 1)
        controls.addWidget(self.preview_button)
        controls.addWidget(self.redraw_button)
        right = QVBoxLayout()
        right.addLayout(controls)
        right.addWidget(self.status_label)
        right.addWidget(scroll, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(editors, 0)
        layout.addLayout(right, 1)

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        self.clip_combo.clear()
        manifest = self.session.manifest
        step = max(1, len(manifest.clips) // 40)
        for index in range(0, len(manifest.clips), step):
            clip = manifest.clips[index]
            self.clip_combo.addItem(f"{clip.path.name} ({clip.label})", index)

    def editor(self, name: str) -> AugmentationEditor:
        return next(e for e in self.editors if e.name == name)

    # ---- view -> model --------------------------------------------------------------------------
    def _on_choice_changed(self, *_args) -> bool:
        """Validate the chosen augmentations into the session; say why on this page when invalid."""
        variants = []
        for editor in self.editors:
            if not editor.isChecked():
                continue
            try:
                api.check_variant(editor.name, editor.kwargs())
            except ValueError as exc:
                self.status_label.setText(f"{editor.name}: {exc}")
                self.session.variants = []
                self._invalid = True
                self.completeChanged.emit()
                return False
            variants.append((editor.name, editor.kwargs()))
        self.session.variants = variants
        self.status_label.setText("")
        self._invalid = False
        self.completeChanged.emit()
        return True

    def _on_redraw_clicked(self) -> None:
        self._draw += 1
        self._on_preview_clicked()

    def _on_preview_clicked(self) -> None:
        if not self._on_choice_changed():
            return
        index = self.clip_combo.currentData()
        if index is None:
            return
        clip = self.session.manifest.clips[index]
        request = api.VariantsRequest(clip.path, index, tuple(self.session.variants),
                                      seed=self.session.split.seed + self._draw)
        self.status_label.setText("")
        self.preview_button.setEnabled(False)
        self.jobs.submit_job("preview", preview_job(self.session.trainer_job("render_variants", cancel_grace_s=1.0)),
                             request, what="The augmentation preview")

    def busy(self) -> bool:
        """Rendering in the worker, or rows still being drawn."""
        return self.jobs.busy("preview") or self._fill_timer.isActive()

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        return self.jobs.shutdown(timeout_s)

    # ---- worker -> view (GUI thread) ------------------------------------------------------------
    def _on_jobs_delivered(self, kind: str, preview) -> None:
        self.preview_button.setEnabled(True)
        self._update_preview(preview)

    def _on_jobs_failed(self, kind: str, message: str) -> None:
        self.preview_button.setEnabled(True)
        self.status_label.setText(message)

    def _on_play(self, row: VariantRow) -> None:
        self.player.load(audible(row.samples), row.sample_rate_hz)
        self.player.play()

    # ---- model -> view --------------------------------------------------------------------------
    def _update_preview(self, preview) -> None:
        """Show ``preview``: rows are reused, and drawn one per event-loop turn, so the window
        never waits for a dozen plots at once."""
        while len(self.rows) > len(preview.rows):
            row = self.rows.pop()
            self.preview_box.removeWidget(row)
            row.deleteLater()
        self._preview, self._next_row = preview, 0
        self._update_next_row()

    def _update_next_row(self) -> None:
        preview, i = self._preview, self._next_row
        if preview is None or i >= len(preview.rows):
            return
        if i == len(self.rows):
            row = VariantRow(self._on_play)
            self.rows.append(row)
            self.preview_box.insertWidget(len(self.rows) - 1, row)
        variant, spec = preview.rows[i]
        self.rows[i].show_variant(variant.name, variant.samples, variant.sample_rate_hz, spec=spec,
                                  peak=preview.peak, top_db=preview.top_db)
        self._next_row += 1
        if self._next_row < len(preview.rows):
            self._fill_timer.start()

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return not self._invalid


@dataclass(frozen=True)
class Preview:
    """What the page draws: each variant with its spectrogram, one amplitude and colour scale."""

    rows: list
    peak: float
    top_db: float


def preview_job(render_variants):
    """A job drawing the variants ``render_variants`` (``trainer.api.render_variants``, run in the
    training process) renders: :func:`render_preview` in the worker thread."""

    def job(request, *, on_progress, cancel) -> Preview:
        return render_preview(request, render_variants(request, on_progress=on_progress, cancel=cancel))

    return job


def render_preview(request, variants=None) -> Preview:
    """The variants (``trainer.api.render_variants``) and their display spectrograms. Worker thread."""
    if variants is None:
        variants = api.render_variants(request)
    specs = [spectrogram_db(v.samples, v.sample_rate_hz, n_fft=PREVIEW_N_FFT) for v in variants]
    peak = max(0.05, *(float(np.max(np.abs(v.samples))) for v in variants if v.samples.size))
    top_db = max(float(np.percentile(spec.db, 99.5)) for spec in specs)
    return Preview(list(zip(variants, specs, strict=True)), peak, top_db)
