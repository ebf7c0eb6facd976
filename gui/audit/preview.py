"""The selected clip, heard and seen: decodes it off the GUI thread, draws it, plays it, explains it.

Observes :class:`engine.datasets.session.DatasetSession` (``selected``; ``ranked`` for the
saliency of the fold model). The newest selection wins: an older clip still decoding is
cancelled and its result dropped, so moving quickly through the table never stalls.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engine.datasets.session import DatasetSession
from gui.audit.clip_panel import ClipPanel
from gui.audit.saliency import saliency_job
from gui.audit.worker import MAX_CLIP_S, LoadedClip, load_clip_job, redraw_clip_job
from gui.workers.job_worker import JobWorker, call_job
from gui.workers.playback import Player
from gui.workers.registry import workers


class ClipPreview(QObject):
    loaded = Signal(str)         # key of the clip now drawn
    spectrogram_redrawn = Signal(str)   # key of the clip whose spectrogram was drawn with new settings
    failed = Signal(str)
    noticed = Signal(str)

    def __init__(self, session: DatasetSession, clip_panel: ClipPanel, saliency_check, autoplay_check, *,
                 is_visible=lambda: True, use_audio_device: bool = True, parent=None) -> None:
        super().__init__(parent)
        self.session, self.clip_panel = session, clip_panel
        self.saliency_check, self.autoplay_check, self._is_visible = saliency_check, autoplay_check, is_visible
        self.player = Player(self, use_device=use_audio_device)
        self.player.moved.connect(clip_panel.move_cursor)
        self.player.noticed.connect(self.noticed)
        self.loaded_key: str | None = None
        self.torch_model, self.torch_labels, self.saliency_caption = None, [], ""
        self._loader: JobWorker | None = None
        self._saliency: JobWorker | None = None
        self._redrawer: JobWorker | None = None
        clip_panel.spectrogram_settings.changed.connect(lambda _s: self.redraw_spectrogram())
        clip_panel.seek_requested.connect(self.play_from)
        self._play_when_loaded = False
        self._hold_autoplay = self._held = False
        self._unsubscribe = [session.subscribe("selected", self._on_session_selected),
                             session.subscribe("ranked", lambda _r: self.request_saliency())]

    # ---- session -> preview -------------------------------------------------------------------
    def hold_autoplay(self) -> None:
        """The next selection (the first clip of a data set just opened or ranked) loads without
        playing: "Play on select" is for clips a person selects, not a sound at launch."""
        self._hold_autoplay = True

    def _on_session_selected(self, key: str | None) -> None:
        self.player.stop()
        self._play_when_loaded = False
        self._held, self._hold_autoplay = self._hold_autoplay, False
        self.loaded_key = None
        for job in (self._loader, self._saliency, self._redrawer):
            if job is not None:
                job.cancel()
        self._loader = self._saliency = self._redrawer = None
        if key is None:
            self.clip_panel.clear()
            return
        clip = self.session.clip(key)
        self._loader = JobWorker(load_clip_job, (key, clip.path, self.clip_panel.spectrogram_settings.current()),
                                 what="Loading the clip", owner=self)
        self._loader.finished.connect(self._on_loader_finished)
        self._loader.failed.connect(self._on_loader_failed)
        self._loader.start()

    def _on_loader_finished(self, loaded: LoadedClip) -> None:
        if self.sender() is not self._loader or loaded.key != self.session.current_key:
            return  # an older selection
        self._loader = None
        self.loaded_key = loaded.key
        self.clip_panel.show_audio(loaded.audio, loaded.spectrogram)
        self.player.load(loaded.audio.samples, loaded.audio.sample_rate_hz)
        if self._play_when_loaded or (self.autoplay_check.isChecked() and self._is_visible() and not self._held):
            self.player.play()
        self._play_when_loaded = False
        if loaded.settings != self.clip_panel.spectrogram_settings.current():
            self.redraw_spectrogram()   # the settings changed while it loaded
        self.request_saliency()
        self.loaded.emit(loaded.key)

    def _on_loader_failed(self, message: str) -> None:
        if self.sender() is not self._loader:
            return
        self._loader = None
        self.clip_panel.clear()
        self.failed.emit(message)

    # ---- the spectrogram's settings ------------------------------------------------------------
    def redraw_spectrogram(self) -> None:
        """The shown clip's spectrogram with the settings now chosen, in a worker (a loading clip
        picks them up when it has loaded)."""
        audio = self.clip_panel.audio
        if self.loaded_key is None or audio is None:
            return
        if self._redrawer is not None:
            self._redrawer.cancel()
        request = (self.loaded_key, audio, self.clip_panel.spectrogram_settings.current())
        self._redrawer = JobWorker(redraw_clip_job, request, what="Drawing the spectrogram", owner=self)
        self._redrawer.finished.connect(self._on_redrawn)
        self._redrawer.failed.connect(self.failed)
        self._redrawer.start()

    def _on_redrawn(self, drawn: LoadedClip) -> None:
        if self.sender() is not self._redrawer or drawn.key != self.loaded_key or drawn.audio is not self.clip_panel.audio:
            return  # newer settings, or another clip, since
        self._redrawer = None
        self.clip_panel.show_spectrogram(drawn.spectrogram)
        self.spectrogram_redrawn.emit(drawn.key)

    # ---- playback -----------------------------------------------------------------------------
    def toggle_play(self) -> None:
        """Space: play or pause; pressed while the clip is still decoding, it plays once drawn."""
        if self._loader is not None:
            self._play_when_loaded = not self._play_when_loaded
        else:
            self.player.toggle()

    def stop(self) -> None:
        self._play_when_loaded = False
        self.player.stop()

    def play_from(self, position_s: float) -> None:
        """A click on the overview strip: play the loaded clip from there."""
        if self.loaded_key is None:
            return
        self.player.seek(max(0.0, float(position_s)))
        self.player.play()

    # ---- why: saliency ------------------------------------------------------------------------
    def set_torch_model(self, model, labels: list[str]) -> None:
        """Explain clips with Grad-CAM of a torch ``WaveformModel`` (``.frontend`` + ``.classifier``)."""
        self.torch_model, self.torch_labels = model, list(labels)
        self.request_saliency()

    def request_saliency(self) -> None:
        self.clip_panel.clear_saliency()
        key = self.loaded_key
        if key is None or key != self.session.current_key or not self.saliency_check.isChecked():
            return
        job = saliency_job(key, self.session.clip(key).path, torch_model=self.torch_model,
                           torch_labels=self.torch_labels, result=self.session.result,
                           result_index=self.session.result_index(key), max_s=MAX_CLIP_S)
        if job is None:
            return
        if self._saliency is not None:
            self._saliency.cancel()
        self._saliency = JobWorker(call_job(job), what="The saliency map", owner=self)
        self._saliency.finished.connect(self._on_saliency_finished)
        self._saliency.failed.connect(self.failed)
        self._saliency.start()

    def _on_saliency_finished(self, payload) -> None:
        key, sal, centres, hop_s, caption = payload
        if key == self.loaded_key == self.session.current_key and self.saliency_check.isChecked():
            self.clip_panel.show_saliency(sal, centres, hop_s)
            self.saliency_check.setToolTip(caption)
            self.saliency_caption = caption

    def shutdown(self, timeout_s: float = 5.0) -> None:
        self.stop()
        workers.stop(timeout_s, owner=self)   # every clip and saliency job this preview started
        self._loader = self._saliency = self._redrawer = None
