"""A microphone with a clock, for machines without a sound card (../shared/recipes/virtual-microphone.md).

A private PulseAudio server (its own socket, config and runtime folder under ``folder``)
whose default source is ``module-pipe-source`` reading a FIFO; a feeder thread writes the
audio into the FIFO at real-time pace (10 ms chunks, chunk ``i`` written at
``t0 + (i + 1) * 10 ms`` on the monotonic clock), silence when nothing is queued, as a
quiet room. ALSA's default device goes to that server (``folder/.asoundrc``), so PortAudio,
ALSA, the stream callback and everything after them run as on a laptop.

The server is found through environment variables (``env``): give them to a child process,
or :meth:`PacedMic.export` them into this process *before* PortAudio is initialised (the
first ``import sounddevice``), since ALSA reads its configuration once per process.

    mic = PacedMic(tmp_path, rate_hz=16000)
    mic.start()                   # raises PacedMicUnavailable when pulseaudio is not installed
    mic.play(samples)             # queued; fed in real time after what is queued already
    ...
    mic.stop()
"""

from __future__ import annotations

import collections
import fcntl
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

CHUNK_S = 0.01
PIPE_BYTES = 16384  # the FIFO holds ~0.25 s of 16 kHz mono float32, as a sound card's buffer
LATE_S = 0.05  # a chunk this late moves the schedule on (the audio is delayed, never bursted or dropped)
ASOUNDRC = "pcm.!default { type pulse }\nctl.!default { type pulse }\n"
DEFAULT_PA = """load-module module-native-protocol-unix socket={socket} auth-anonymous=1
load-module module-null-sink sink_name=nullout
load-module module-pipe-source source_name=virtmic file={fifo} format=float32le rate={rate} channels={channels}
set-default-source virtmic
set-default-sink nullout
"""


# The *unpaced* source, only for checks that need the capture path's exact samples and not its
# pace: ALSA's file plugin over ``null`` serves a raw float32 file as the default capture device,
# with no clock (it delivered ~3,000 s of audio in 3 s). Write it to ``HOME/.asoundrc``.
UNPACED_ASOUNDRC = """pcm.!default {
  type asym
  playback.pcm "null"
  capture.pcm "filein"
}
pcm.filein {
  type file
  slave.pcm "null"
  file "/dev/null"
  infile "@RAW_PCM_PATH@"
  format "raw"
}
"""


class PacedMicUnavailable(RuntimeError):
    """pulseaudio (or its ALSA plugin) is not installed, or the server did not start."""


def missing_reason() -> str | None:
    """Why a paced microphone cannot run here, or None when it can."""
    if shutil.which("pulseaudio") is None:
        return "the paced virtual microphone needs PulseAudio (Debian: pulseaudio libasound2-plugins)"
    if not any(Path(p).is_file() for p in ("/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so",
                                           "/usr/lib/aarch64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so",
                                           "/usr/lib/alsa-lib/libasound_module_pcm_pulse.so",
                                           "/usr/lib64/alsa-lib/libasound_module_pcm_pulse.so")):
        return "the paced virtual microphone needs ALSA's PulseAudio plugin (Debian: libasound2-plugins)"
    if not hasattr(os, "mkfifo"):
        return "the paced virtual microphone needs a FIFO (POSIX)"
    return None


class PacedMic:
    """A PulseAudio pipe source fed in real time from a thread; see the module's docstring.

    ``chunk_source(n_frames) -> float32 array [n_frames, channels] or [n_frames]``, when given,
    makes every chunk (a counting ramp for the soak); otherwise queued audio, then silence.
    """

    def __init__(self, folder: str | Path, *, rate_hz: int = 16000, channels: int = 1,
                 chunk_source: Callable[[int], np.ndarray] | None = None) -> None:
        self.folder = Path(folder)
        self.rate_hz, self.channels = int(rate_hz), int(channels)
        self.chunk_frames = max(1, round(self.rate_hz * CHUNK_S))
        self._chunk_source = chunk_source
        self._queue: collections.deque[np.ndarray] = collections.deque()
        self._queue_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._server: subprocess.Popen | None = None
        self.frames_fed = 0          # every frame written (audio and silence)
        self.audio_frames_fed = 0    # frames of queued audio written
        self.late_chunks = 0         # times the feeder was held up by more than LATE_S (schedule moved on)
        self.started_at: float | None = None  # monotonic time of the first chunk written

    # ---- paths and environment ------------------------------------------------------------
    @property
    def fifo(self) -> Path:
        return self.folder / "mic.fifo"

    @property
    def socket(self) -> Path:
        return self.folder / "native"

    @property
    def env(self) -> dict[str, str]:
        """What a process needs to find this server through ALSA's default device."""
        return {"HOME": str(self.folder), "PULSE_SERVER": f"unix:{self.socket}",
                "XDG_RUNTIME_DIR": str(self.folder / "run"), "PULSE_RUNTIME_PATH": str(self.folder / "run")}

    def export(self) -> None:
        """Put :attr:`env` into this process's environment (before PortAudio is initialised)."""
        os.environ.update(self.env)
        os.environ.pop("ALSA_CONFIG_PATH", None)

    # ---- start and stop --------------------------------------------------------------------
    def start(self, timeout_s: float = 15.0) -> PacedMic:
        reason = missing_reason()
        if reason:
            raise PacedMicUnavailable(reason)
        (self.folder / "run").mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder / "run", 0o700)
        if self.fifo.exists():  # module-pipe-source makes the FIFO itself and refuses an old one
            self.fifo.unlink()
        (self.folder / ".asoundrc").write_text(ASOUNDRC)
        (self.folder / "default.pa").write_text(DEFAULT_PA.format(
            socket=self.socket, fifo=self.fifo, rate=self.rate_hz, channels=self.channels))
        env = {**os.environ, **self.env}
        self._log = open(self.folder / "pulseaudio.log", "w")  # noqa: SIM115 - closed in stop()
        self._server = subprocess.Popen(
            ["pulseaudio", "-n", "-F", str(self.folder / "default.pa"), "--exit-idle-time=-1",
             "--daemonize=no", "--disallow-exit", "--use-pid-file=no", "--log-target=stderr"],
            env=env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        end = time.monotonic() + timeout_s
        while not (self.socket.exists() and self.fifo.exists()):
            if self._server.poll() is not None or time.monotonic() > end:
                log = (self.folder / "pulseaudio.log").read_text()[-2000:]
                self.stop()
                raise PacedMicUnavailable(f"pulseaudio did not start: {log}")
            time.sleep(0.02)
        self._stop.clear()
        self._thread = threading.Thread(target=self._feed, name="paced-mic-feeder", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        # the server first: the feeder may be blocked writing to a pipe nobody reads any more (the
        # app stopped capturing), and the reader's end closing is what ends that write (it waited
        # out a 5 s join in three tests)
        server, self._server = self._server, None
        if server is not None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(5)
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(5.0)
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
            self._log = None

    def __enter__(self) -> PacedMic:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- audio -----------------------------------------------------------------------------
    def play(self, samples: np.ndarray) -> None:
        """Queue ``samples`` ([frames] or [frames, channels], at ``rate_hz``) after what is queued."""
        data = np.asarray(samples, dtype=np.float32)
        data = data.reshape(-1, 1) if data.ndim == 1 else data
        if data.shape[1] != self.channels:
            data = np.repeat(data[:, :1], self.channels, axis=1) if data.shape[1] == 1 else data[:, :self.channels]
        with self._queue_lock:
            self._queue.append(np.ascontiguousarray(data))

    @property
    def queued_frames(self) -> int:
        with self._queue_lock:
            return sum(len(a) for a in self._queue)

    def _next_chunk(self, n: int) -> tuple[np.ndarray, int]:
        if self._chunk_source is not None:
            chunk = np.asarray(self._chunk_source(n), dtype=np.float32).reshape(n, -1)
            return chunk, n
        out = np.zeros((n, self.channels), dtype=np.float32)
        filled = 0
        with self._queue_lock:
            while filled < n and self._queue:
                head = self._queue[0]
                take = min(n - filled, len(head))
                out[filled:filled + take] = head[:take]
                filled += take
                if take == len(head):
                    self._queue.popleft()
                else:
                    self._queue[0] = head[take:]
        return out, filled

    def _open_fifo(self) -> int | None:
        while not self._stop.is_set():
            try:
                return os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                self._stop.wait(0.01)
        return None

    def _feed(self) -> None:
        fd = self._open_fifo()
        if fd is None:
            return
        os.set_blocking(fd, True)
        if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux: 64 KiB by default, a second of stale audio when
            try:                           # nobody captures, bursted out at the next start
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
            except OSError:
                pass
        try:
            t0 = time.monotonic()
            self.started_at = t0
            i = 0
            while not self._stop.is_set():
                i += 1
                wait = t0 + i * CHUNK_S - time.monotonic()  # a chunk leaves once its time has passed
                if wait > 0 and self._stop.wait(wait):
                    return
                if wait < -LATE_S:  # this thread was held up (a busy machine): a sound card would
                    self.late_chunks += 1  # not burst the backlog out afterwards, so neither do we
                    t0 -= wait
                chunk, audio = self._next_chunk(self.chunk_frames)
                try:
                    os.write(fd, chunk.astype("<f4").tobytes())
                except OSError:  # the server went away
                    return
                self.frames_fed += len(chunk)
                self.audio_frames_fed += audio
        finally:
            os.close(fd)
