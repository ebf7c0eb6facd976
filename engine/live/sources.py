"""Live audio sources that fill a :class:`~engine.live.ringbuffer.RingBuffer`, Qt-free.

- :class:`MicSource` captures a sound device through PortAudio (``sounddevice``). Its
  callback only copies the block into the ring buffer and counts overflows.
- :class:`FileSource` plays samples into the ring buffer in real time (or faster) from a
  thread of its own, or block by block when driven by hand (``feed``), for tests and demos.

``sounddevice`` is imported lazily: it raises ``OSError`` at import when the PortAudio
library is missing, which becomes an :class:`AudioDeviceError` saying what to install.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.errors import AudioDeviceError
from engine.live.ringbuffer import RingBuffer

PORTAUDIO_HINT = (
    "Install PortAudio (Debian/Ubuntu: sudo apt-get install libportaudio2; "
    "macOS and Windows wheels bundle it)."
)


def import_sounddevice():
    """Import ``sounddevice`` or raise :class:`AudioDeviceError` naming the missing library."""
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise AudioDeviceError(f"The PortAudio library could not be loaded ({exc}). {PORTAUDIO_HINT}") from exc
    except ImportError as exc:
        raise AudioDeviceError(f"The sounddevice package is not installed ({exc}).") from exc
    return sounddevice


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    max_input_channels: int
    default_sample_rate_hz: float
    is_default: bool

    def __str__(self) -> str:
        return f"{self.name}{' (default)' if self.is_default else ''}"


def list_input_devices() -> list[InputDevice]:
    """Every device with input channels; raises :class:`AudioDeviceError` without PortAudio."""
    sd = import_sounddevice()
    try:
        devices = sd.query_devices()
        default_in = sd.default.device[0]
    except Exception as exc:  # PortAudioError and friends
        raise AudioDeviceError(f"Cannot list sound devices: {exc}") from exc
    found = []
    for index, info in enumerate(devices):
        if info.get("max_input_channels", 0) > 0:
            found.append(InputDevice(index, str(info["name"]), int(info["max_input_channels"]),
                                     float(info["default_samplerate"]), index == default_in))
    return found


MIX_BLOCK = 8192  # frames mixed without allocating; a longer callback block grows the buffer once


class MicSource:
    """Capture ``channels`` channels of an input device from PortAudio's thread.

    ``ring`` gets the mono mix (the mean of the channels: what the model and the plots see);
    with more than one channel, ``channel_rings[c]`` gets channel ``c`` as captured, for the
    recorder. ``on_error(AudioDeviceError)`` is called (from PortAudio's thread) when the
    stream ends without ``stop()``: the device vanished. ``error`` keeps it for polling.
    """

    def __init__(self, ring: RingBuffer, sample_rate_hz: int, *, device: int | str | None = None,
                 block_size: int = 0, on_error: Callable[[AudioDeviceError], None] | None = None,
                 channels: int = 1, name: str | None = None) -> None:
        if channels < 1:
            raise ValueError(f"channels must be at least 1, not {channels}")
        self.ring = ring
        self.sample_rate_hz = int(sample_rate_hz)
        self.channels = int(channels)
        self.channel_rings = ([RingBuffer(ring.capacity) for _ in range(self.channels)]
                              if self.channels > 1 else [ring])
        self._mix = np.zeros(max(MIX_BLOCK, block_size), dtype=np.float32)
        self.device = device
        self.name = name
        self.block_size = block_size
        self.on_error = on_error
        self.overflow_count = 0
        self.block_count = 0
        self.error: AudioDeviceError | None = None
        self._stream = None
        self._stopping = False

    @property
    def device_name(self) -> str:
        if self.name:
            return self.name
        return "the default input device" if self.device is None else f"input device {self.device!r}"

    @property
    def running(self) -> bool:
        return self._stream is not None and self.error is None

    def start(self) -> None:
        sd = import_sounddevice()
        self._stopping = False
        self.error = None
        try:
            stream = sd.InputStream(
                samplerate=self.sample_rate_hz, blocksize=self.block_size, device=self.device,
                channels=self.channels, dtype="float32", callback=self._callback,
                finished_callback=self._finished,
            )
            stream.start()
        except Exception as exc:  # PortAudioError, ValueError (no such device)
            raise AudioDeviceError(self._open_message(exc)) from exc
        self._stream = stream

    def _open_message(self, exc: Exception) -> str:
        text = str(exc)
        if "querying device -1" in text or "No input device" in text or "Invalid device" in text:
            return (f"No microphone found ({text}). Connect an input device, or pick one in the "
                    "device list, then press Start again.")
        channels = "mono" if self.channels == 1 else f"{self.channels} channels"
        return f"Cannot open {self.device_name} at {self.sample_rate_hz} Hz, {channels}: {text}"

    def _callback(self, indata, frames, time_info, status) -> None:
        # Real-time thread: copy and count, nothing else.
        if status.input_overflow:
            self.overflow_count += 1
        if self.channels == 1:
            self.ring.write(indata[:, 0])
        else:
            if frames > len(self._mix):
                self._mix = np.zeros(frames, dtype=np.float32)  # once, for an unusually long block
            mix = self._mix[:frames]
            np.add.reduce(indata, axis=1, out=mix)
            mix *= 1.0 / self.channels
            for c, ring in enumerate(self.channel_rings):
                ring.write(indata[:, c])
            self.ring.write(mix)  # last: a reader of the mix finds the channels written already
        self.block_count += 1

    def _finished(self) -> None:
        if self._stopping:
            return
        self.error = AudioDeviceError(
            f"The recording stopped: {self.device_name} disappeared or stopped delivering audio. "
            "Reconnect it or choose another device, then press Start again."
        )
        if self.on_error is not None:
            self.on_error(self.error)

    def check(self) -> None:
        """Raise the device error if the stream died (a vanished device) since it started."""
        if self.error is not None:
            raise self.error
        stream = self._stream
        if stream is not None and not self._stopping and not stream.active and stream.closed is False:
            self._finished()
            raise self.error  # type: ignore[misc]

    def stop(self) -> None:
        self._stopping = True
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.stop()
            stream.close()
        except Exception:  # a vanished device may refuse to stop; the stream is gone anyway
            pass


class FileSource:
    """Feed samples into ``ring`` in blocks, paced at ``speed`` times real time.

    ``speed=None`` feeds as fast as the ring's readers allow (never lapping them is the
    caller's business). ``loop`` starts over at the end. Without ``start()``, call
    :meth:`feed` to push blocks by hand with exact timing.
    """

    def __init__(self, ring: RingBuffer, samples: np.ndarray, sample_rate_hz: int, *,
                 block_size: int = 512, speed: float | None = 1.0, loop: bool = False,
                 on_finished: Callable[[], None] | None = None, name: str = "file source") -> None:
        self.ring = ring
        self.name = name
        self.samples = np.ascontiguousarray(samples, dtype=np.float32)
        self.sample_rate_hz = int(sample_rate_hz)
        self.block_size = int(block_size)
        self.speed = speed
        self.loop = loop
        self.on_finished = on_finished
        self.position = 0
        self.overflow_count = 0
        self.block_count = 0
        self.error: AudioDeviceError | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def device_name(self) -> str:
        return self.name

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def finished(self) -> bool:
        return not self.loop and self.position >= len(self.samples)

    def feed(self, n_blocks: int = 1) -> int:
        """Write up to ``n_blocks`` blocks now; returns the samples written."""
        written = 0
        for _ in range(n_blocks):
            if self.position >= len(self.samples):
                if not self.loop or len(self.samples) == 0:
                    break
                self.position = 0
            block = self.samples[self.position:self.position + self.block_size]
            self.ring.write(block)
            self.position += len(block)
            self.block_count += 1
            written += len(block)
        return written

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="earmark-file-source")
        self._thread.start()

    def _run(self) -> None:
        block_s = self.block_size / self.sample_rate_hz
        t0 = time.monotonic()
        fed_s = 0.0
        while not self._stop.is_set():
            if self.feed() == 0:
                break
            if self.speed:
                fed_s += block_s / self.speed
                self._stop.wait(max(0.0, t0 + fed_s - time.monotonic()))
        if not self._stop.is_set() and self.on_finished is not None:
            self.on_finished()

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
