"""Play a clip through the default output device, with a position the view can follow.

When there is no output device (or no PortAudio) the player says so once and plays
silently on a clock, so the cursor still moves and nothing crashes.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from engine.errors import AudioDeviceError
from engine.live.sources import import_sounddevice


class Player(QObject):
    moved = Signal(float)        # position in seconds, about 30 times a second while playing
    started = Signal()
    stopped = Signal()           # paused, stopped, or reached the end
    noticed = Signal(str)        # e.g. "no output device: playing silently"

    def __init__(self, parent=None, *, use_device: bool = True) -> None:
        super().__init__(parent)
        self.samples = np.zeros(0, dtype=np.float32)   # what is played (at ``speed``)
        self.source = self.samples                      # what was loaded
        self.sample_rate_hz = 16000
        self.speed = 1.0          # 0.25-2; positions are always in the loaded audio's seconds
        self.keep_pitch = True    # False: the pitch follows the speed, like a tape
        self.use_device = use_device
        self._frame = 0            # where playback (re)starts
        self._device_frame = 0     # next sample the output device asks for (audio thread)
        self.device_frames = 0     # frames the device has taken since load
        self.device_name: str | None = None
        self._stream = None
        self._clock_start: tuple[float, int] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(30)
        self._timer.timeout.connect(self._tick)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    @property
    def position_s(self) -> float:
        return self._current_frame() / self.sample_rate_hz * self.speed

    def load(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        self.stop()
        self.source = np.ascontiguousarray(samples, dtype=np.float32)
        self.sample_rate_hz = int(sample_rate_hz)
        self.samples = self._played(self.source)
        self._frame = 0

    def set_speed(self, speed: float, keep_pitch: bool = True) -> None:
        """Play at ``speed`` from where playback is (see :mod:`engine.audio.speed`)."""
        if (float(speed), bool(keep_pitch)) == (self.speed, self.keep_pitch):
            return
        was_playing, position = self.playing, self.position_s
        self._quiet_pause()
        self.speed, self.keep_pitch = float(speed), bool(keep_pitch)
        self.samples = self._played(self.source)
        self._frame = int(np.clip(position / self.speed * self.sample_rate_hz, 0, self.samples.size))
        if was_playing:
            self.play()

    def _played(self, samples: np.ndarray) -> np.ndarray:
        if self.speed == 1.0 or samples.size == 0:
            return samples
        from engine.audio.speed import change_speed

        return change_speed(samples, self.sample_rate_hz, self.speed, keep_pitch=self.keep_pitch)

    def _quiet_pause(self) -> None:
        if self.playing:
            self._frame = self._current_frame()
            self._clock_start = None
            self._close_stream()
            self._timer.stop()

    def seek(self, position_s: float) -> None:
        was_playing = self.playing
        self.pause()
        self._frame = int(np.clip(position_s / self.speed * self.sample_rate_hz, 0, self.samples.size))
        self.moved.emit(self.position_s)
        if was_playing:
            self.play()

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def play(self) -> None:
        if self.playing or self.samples.size == 0:
            return
        if self._frame >= self.samples.size:
            self._frame = 0
        self._device_frame = self._frame
        self._stream = self._open_stream() if self.use_device else None
        # The cursor follows the clock: a device buffers ahead of what is heard, and a
        # device without a clock (ALSA's null) would otherwise swallow the clip at once.
        self._clock_start = (time.monotonic(), self._frame)
        self._timer.start()
        self.started.emit()

    def _open_stream(self):
        try:
            sd = import_sounddevice()
            stream = sd.OutputStream(samplerate=self.sample_rate_hz, channels=1, dtype="float32",
                                     callback=self._callback)
            stream.start()
            self.device_name = str(sd.query_devices(stream.device)["name"])
            return stream
        except AudioDeviceError as exc:
            self.noticed.emit(f"{exc} Playing silently: the cursor still moves.")
        except Exception as exc:  # noqa: BLE001 - PortAudioError: no output device
            self.noticed.emit(f"No sound output device ({exc}). Playing silently: the cursor still moves.")
        return None

    def _callback(self, outdata, frames, time_info, status) -> None:
        start = self._device_frame
        chunk = self.samples[start:start + frames]
        outdata[: chunk.size, 0] = chunk
        outdata[chunk.size:, 0] = 0.0
        self._device_frame = start + chunk.size
        self.device_frames += frames

    def _current_frame(self) -> int:
        if self._clock_start is not None:
            t0, frame0 = self._clock_start
            return min(self.samples.size, frame0 + int((time.monotonic() - t0) * self.sample_rate_hz))
        return self._frame

    def _tick(self) -> None:
        frame = self._current_frame()
        self.moved.emit(frame / self.sample_rate_hz * self.speed)
        if frame >= self.samples.size:
            self.pause()

    def pause(self) -> None:
        if not self.playing:
            return
        self._frame = self._current_frame()
        self._clock_start = None
        self._close_stream()
        self._timer.stop()
        self.stopped.emit()

    def stop(self) -> None:
        self.pause()
        self._frame = 0
        self.moved.emit(0.0)

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception:  # noqa: BLE001 - a vanished device cannot fail the app
                pass


def audible(samples: np.ndarray, peak: float = 0.9) -> np.ndarray:
    """``samples`` scaled down to ``peak`` when louder than full scale (an augmentation's gain can
    push a clip past 1.0, which the device would clip); quieter audio is played as it is."""
    loudest = float(np.max(np.abs(samples))) if samples.size else 0.0
    return samples * (peak / loudest) if loudest > 1.0 else samples
