"""Play a recording of any length through :class:`gui.workers.playback.Player`, a chunk at a time.

The player holds one chunk (``CHUNK_S`` seconds read from disk at the file's rate); when it
reaches the chunk's end the next chunk is loaded and playback goes on. With a ``span`` (the
selection) playback plays just that span, and with ``loop`` repeats it. Positions are
absolute seconds in the file.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engine.audio.long import LongAudio
from gui.workers.playback import Player

CHUNK_S = 60.0
STRETCHED_CHUNK_S = 2.0   # played seconds per chunk when the pitch is kept (WSOLA runs on this thread)
END_EPS_S = 1e-3


class ChunkPlayback(QObject):
    moved = Signal(float)     # absolute position (s)
    started = Signal()
    stopped = Signal()

    def __init__(self, player: Player, parent=None) -> None:
        super().__init__(parent)
        self.player = player
        self.audio: LongAudio | None = None
        self.span: tuple[float, float] | None = None  # play only this (the selection)
        self.loop = False                              # and repeat it
        self.speed = 1.0                               # 0.25-2: slower or faster
        self.keep_pitch = True                         # False: the pitch follows the speed (time expansion)
        self._position = 0.0
        self._chunk = (0.0, 0.0)
        self._internal = False   # our own load/pause: not the person's
        player.moved.connect(self._on_player_moved)
        player.stopped.connect(self._on_player_stopped)
        player.started.connect(self.started)

    @property
    def playing(self) -> bool:
        return self.player.playing

    @property
    def position_s(self) -> float:
        return self._position

    def set_audio(self, audio: LongAudio | None) -> None:
        self._quiet(self.player.stop)
        self.audio, self.span, self._position, self._chunk = audio, None, 0.0, (0.0, 0.0)
        self.moved.emit(0.0)

    def _quiet(self, fn, *args) -> None:
        self._internal = True
        try:
            fn(*args)
        finally:
            self._internal = False

    def seek(self, position_s: float) -> None:
        if self.audio is None:
            return
        position_s = min(max(position_s, 0.0), self.audio.duration_s)
        was_playing = self.playing
        self._quiet(self.player.pause)
        self._position = position_s
        self.moved.emit(position_s)
        if was_playing:
            self._start_at(position_s)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def play(self) -> None:
        if self.audio is None or self.playing:
            return
        start = self._position
        if self.span is not None and not (self.span[0] <= start < self.span[1] - END_EPS_S):
            start = self.span[0]
        elif start >= self.audio.duration_s - END_EPS_S:
            start = 0.0
        self._start_at(start)

    def pause(self) -> None:
        self.player.pause()

    def stop(self) -> None:
        self._quiet(self.player.pause)
        self._position = self.span[0] if self.span else 0.0
        self.moved.emit(self._position)
        self.stopped.emit()

    def _limit(self) -> float:
        return self.span[1] if self.span is not None else self.audio.duration_s

    def set_speed(self, speed: float, keep_pitch: bool) -> None:
        """Play at ``speed``; a change while playing takes effect from where playback is."""
        if (speed, keep_pitch) == (self.speed, self.keep_pitch):
            return
        self.speed, self.keep_pitch = float(speed), bool(keep_pitch)
        self._quiet(self.player.set_speed, self.speed, self.keep_pitch)  # the player stretches each chunk
        if self.playing:
            self._start_at(self._position)

    def _start_at(self, start_s: float) -> None:
        played_s = STRETCHED_CHUNK_S if self.keep_pitch and self.speed != 1.0 else CHUNK_S
        end_s = min(start_s + played_s * self.speed, self._limit())
        samples = self.audio.read(start_s, end_s)
        self._chunk = (start_s, end_s)
        self._quiet(self.player.load, samples, self.audio.sample_rate_hz)
        self._position = start_s
        self.player.play()

    def _on_player_moved(self, chunk_position_s: float) -> None:
        if self._internal:
            return
        self._position = min(self._chunk[0] + chunk_position_s, self._chunk[1])
        self.moved.emit(self._position)

    def _on_player_stopped(self) -> None:
        if self._internal:
            return
        at_chunk_end = self._chunk[0] + self.player.position_s >= self._chunk[1] - END_EPS_S * 10
        if at_chunk_end and self.audio is not None:
            if self._chunk[1] < self._limit() - END_EPS_S:
                self._start_at(self._chunk[1])
                return
            if self.span is not None and self.loop:
                self._start_at(self.span[0])
                return
        self.stopped.emit()
