"""Play a clip on the default output device (sounddevice), or say why it cannot."""

from __future__ import annotations

import numpy as np

from engine.errors import AudioDeviceError
from engine.live.sources import import_sounddevice


def play(samples: np.ndarray, sample_rate_hz: int) -> None:
    """Start playing ``samples`` (non-blocking; a new call stops the previous one).

    Raises :class:`AudioDeviceError` naming the problem (no PortAudio, no output device).
    """
    sd = import_sounddevice()
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    data = samples / peak * 0.9 if peak > 1.0 else samples
    try:
        sd.stop()
        sd.play(np.ascontiguousarray(data, dtype=np.float32), int(sample_rate_hz))
    except Exception as exc:  # noqa: BLE001 - PortAudio errors come in several types
        raise AudioDeviceError(f"Cannot play audio on the default output device: {exc}") from exc


def stop() -> None:
    try:
        import_sounddevice().stop()
    except Exception:  # noqa: BLE001 - nothing to stop where there is no audio
        pass
