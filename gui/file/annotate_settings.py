"""The Annotate view's settings: the labels keys give, the spectrogram's look, playback speed.

A mixin of :class:`gui.file.annotate_view.AnnotateView` (it uses the view's ``settings``,
``catalog``, ``track``, lanes, ``spectrogram`` and ``playback``); every choice is remembered
between runs.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from engine.audio.speed import SPEEDS
from gui.file.time_plots import COLORMAPS, FREQ_AXES
from gui.widgets.spectrogram_settings import SpectrogramSettingsBox

TOP_AUTO_DB = -120.0  # the spin box's lowest value reads "loudest": the top follows the view

MAX_NEW_LABELS = 200  # labels an import adds to the label keys (a file may use thousands)


class AnnotateSettings:
    def _build_settings_row(self) -> QVBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("Labels"))
        self.labels_edit = QLineEdit(self.settings.get("annotate/labels"))
        self.labels_edit.setPlaceholderText("comma-separated, e.g. song, call, noise (keys 1–9 and first letters)")
        self.labels_edit.editingFinished.connect(self._on_labels_edited)
        row.addWidget(self.labels_edit, 1)
        self.spectrogram_settings = SpectrogramSettingsBox(self.settings, "annotate")   # FFT, window, overlap
        self.fft_box = self.spectrogram_settings.fft_box
        self.db_box = QDoubleSpinBox(minimum=20.0, maximum=140.0, singleStep=10.0, suffix=" dB", decimals=0)
        self.db_box.setValue(self.settings.get("annotate/db_range"))
        self.db_box.setToolTip("How many dB below the top are drawn (the floor is the top minus this)")
        self.top_box = QDoubleSpinBox(minimum=TOP_AUTO_DB, maximum=20.0, singleStep=10.0, suffix=" dB", decimals=0)
        self.top_box.setSpecialValueText("loudest")
        self.top_box.setValue(self.settings.get("annotate/db_top"))
        self.top_box.setToolTip("The level drawn brightest, in dB re full scale: the loudest point in view, or a "
                                "fixed level, so that a quiet stretch stays dark and two views compare")
        self.cmap_box = QComboBox()
        self.cmap_box.addItems(COLORMAPS)
        self.cmap_box.setCurrentText(self.settings.get("annotate/colormap"))
        self.axis_box = QComboBox()
        self.axis_box.addItems(FREQ_AXES)
        self.axis_box.setCurrentText(self.settings.get("annotate/freq_axis"))
        self.confidence_box = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2)
        self.confidence_box.setValue(self.settings.get("annotate/min_confidence"))
        self.confidence_box.setToolTip("Suggest where a class's window probability reaches this")
        row.addWidget(QLabel("min confidence"))
        row.addWidget(self.confidence_box)
        # the spectrogram's look on a row of its own: beside the labels it squeezed their box to a word
        look = QHBoxLayout()
        look.addWidget(QLabel("Spectrogram"))
        look.addWidget(self.spectrogram_settings)
        for text, widget in (("top", self.top_box), ("range", self.db_box), ("colours", self.cmap_box),
                             ("axis", self.axis_box)):
            look.addWidget(QLabel(text))
            look.addWidget(widget)
        look.addStretch(1)
        self.accept_all_button = QPushButton("Accept all")
        self.accept_all_button.setToolTip("Accept every pending suggestion (Shift+A on the suggestion lane; "
                                          "one Ctrl+Z undoes it)")
        self.accept_all_button.clicked.connect(lambda: self.suggestion_lane.accept_all())
        row.addWidget(self.accept_all_button)
        self.spectrogram_settings.changed.connect(self._on_spectrogram_settings_changed)
        self.db_box.valueChanged.connect(self._on_spectrogram_settings_changed)
        self.top_box.valueChanged.connect(self._on_spectrogram_settings_changed)
        self.cmap_box.currentTextChanged.connect(self._on_spectrogram_settings_changed)
        self.axis_box.currentTextChanged.connect(self._on_spectrogram_settings_changed)
        self.spectrogram.freq_axis = self.axis_box.currentText()
        self.spectrogram.db_range = self.db_box.value()
        self.spectrogram.db_top = self._db_top()
        self.spectrogram.set_colormap(self.cmap_box.currentText())
        self._on_labels_edited()
        rows = QVBoxLayout()
        rows.addLayout(row)
        rows.addLayout(look)
        return rows

    def _build_speed(self, bar: QHBoxLayout) -> None:
        self.speed_box = QComboBox()
        self.speed_box.addItems([f"{speed:g}×" for speed in SPEEDS])
        saved = self.speed_box.findText(f"{self.settings.get('annotate/speed'):g}×")
        self.speed_box.setCurrentIndex(saved if saved >= 0 else SPEEDS.index(1.0))
        self.speed_box.setToolTip("Playback speed")
        self.pitch_box = QCheckBox("keep pitch")
        self.pitch_box.setChecked(self.settings.get("annotate/keep_pitch"))
        self.pitch_box.setToolTip("Keep the pitch at another speed; untick to let it follow the speed like a "
                                  "tape (0.25× brings ultrasound down two octaves: time expansion)")
        self.speed_box.currentTextChanged.connect(self._on_speed_changed)
        self.pitch_box.toggled.connect(self._on_speed_changed)
        bar.addWidget(self.speed_box)
        bar.addWidget(self.pitch_box)
        self._on_speed_changed()

    def _on_speed_changed(self, *_args) -> None:
        speed = float(self.speed_box.currentText().rstrip("×"))
        self.settings.set("annotate/speed", speed)
        self.settings.set("annotate/keep_pitch", self.pitch_box.isChecked())
        self.playback.set_speed(speed, self.pitch_box.isChecked())

    def _on_spectrogram_settings_changed(self, *_args) -> None:
        self.settings.set("annotate/db_range", float(self.db_box.value()))
        self.settings.set("annotate/db_top", float(self.top_box.value()))
        self.settings.set("annotate/colormap", self.cmap_box.currentText())
        self.settings.set("annotate/freq_axis", self.axis_box.currentText())
        self.spectrogram.freq_axis = self.axis_box.currentText()
        self.spectrogram.db_range = self.db_box.value()
        self.spectrogram.db_top = self._db_top()
        self.spectrogram.set_colormap(self.cmap_box.currentText())
        self._request_range()

    def _db_top(self) -> float | None:
        value = float(self.top_box.value())
        return None if value <= TOP_AUTO_DB else value

    def _merge_track_labels(self) -> None:
        known = self.labels()
        # the track's own label index (a million-region import must not walk every region), capped
        extra = [label for label in self.track.labels() if label not in known][:MAX_NEW_LABELS] if self.track else []
        if extra:
            self.labels_edit.setText(", ".join(dict.fromkeys(known + extra)))
            self._on_labels_edited()

    def _on_catalog_current(self, entry) -> None:
        """An empty Labels box takes the current model's labels (what its suggestions will be)."""
        meta = getattr(entry, "meta", None)
        if meta is not None and not self.labels() and getattr(meta, "labels", None):
            self.labels_edit.setText(", ".join(meta.labels))
            self._on_labels_edited()

    def labels(self) -> list[str]:
        return [t.strip() for t in self.labels_edit.text().split(",") if t.strip()]

    def _on_labels_edited(self) -> None:
        labels = list(dict.fromkeys(self.labels()))
        self.settings.set("annotate/labels", ", ".join(labels))
        for lane in (self.label_lane, self.suggestion_lane):
            lane.labels = labels
            lane.update()
