"""Moving about a recording in the Annotate view: zoom, fit, pan by key, follow playback.

A mixin of :class:`gui.file.annotate_view.AnnotateView` (it uses the view's ``audio``,
``waveform``, ``spectrogram``, ``playback`` and ``follow_box``).
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt

MIN_SPAN_S = 0.01
PAN_STEP = 0.2  # ←/→ move the view by this share of its width


class AnnotateNavigation:
    def visible_range(self) -> tuple[float, float]:
        (x0, x1), _ = self.waveform.viewRange()
        return float(x0), float(x1)

    def _on_view_range_changed(self, *_args) -> None:
        x0, x1 = self.visible_range()
        box = self.waveform.box
        offset = self.waveform.mapFromScene(box.sceneBoundingRect().topLeft()).x()
        for lane in (self.label_lane, self.suggestion_lane):
            lane.set_range(x0, x1, offset, box.sceneBoundingRect().width())
        self.overview.show_view(x0, x1)
        self.overview.align_left(offset)
        self._request_timer.start()

    def zoom_to(self, start_s: float, end_s: float) -> None:
        self.waveform.setXRange(start_s, end_s, padding=0)

    def zoom(self, factor: float) -> None:
        x0, x1 = self.visible_range()
        centre = self.playback.position_s if self.playback.playing else (x0 + x1) / 2
        half = max((x1 - x0) * factor / 2, MIN_SPAN_S / 2)
        self.zoom_to(centre - half, centre + half)

    def zoom_fit(self) -> None:
        """The whole recording, every frequency."""
        self.spectrogram.set_freq_view(None)
        self.zoom_to(0.0, self.audio.duration_s if self.audio else 1.0)

    def pan(self, fraction: float) -> None:
        """Move the view by ``fraction`` of its width (negative: back), within the recording."""
        if self.audio is None:
            return
        x0, x1 = self.visible_range()
        span = x1 - x0
        start = min(max(x0 + fraction * span, 0.0), max(self.audio.duration_s - span, 0.0))
        self.zoom_to(start, start + span)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        """←/→ pan a fifth of the view (Shift: a whole view), Home/End go to the start/end; keys a
        lane or a box does not use itself come here."""
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        step = 1.0 if shift else PAN_STEP
        moves = {Qt.Key.Key_Left: -step, Qt.Key.Key_Right: step, Qt.Key.Key_Home: -math.inf,
                 Qt.Key.Key_End: math.inf}
        if event.key() in moves and self.audio is not None:
            fraction = moves[event.key()]
            if math.isinf(fraction):
                fraction = (-1 if fraction < 0 else 1) * self.audio.duration_s / max(
                    self.visible_range()[1] - self.visible_range()[0], 1e-9)
            self.pan(fraction)
            event.accept()
            return
        super().keyPressEvent(event)

    # ---- playback ---------------------------------------------------------------------
    def _on_playback_moved(self, position_s: float) -> None:
        for plot in (self.waveform, self.spectrogram):
            plot.cursor.setValue(position_s)
        if self.follow_box.isChecked() and self.playback.playing:
            x0, x1 = self.visible_range()
            if not x0 <= position_s <= x1:
                self.zoom_to(position_s, position_s + (x1 - x0))
