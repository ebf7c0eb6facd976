"""Streaming classification over a ring buffer: sliding windows, smoothing, silence gate.

Pure and Qt-free: a worker calls :meth:`StreamingClassifier.step` with a
:class:`~engine.live.ringbuffer.RingReader`; each hop of new audio yields one
:class:`LiveResult`. Latency is measured from the arrival of the newest audio block in
the window to the moment its label is ready; the real-time factor is inference time
divided by the hop (below 1 keeps up with the microphone).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from engine.live.ringbuffer import RingReader
from engine.models.thresholds import decide

SILENCE_LABEL = "silence"
NOTHING_LABEL = "nothing recognised"   # no class reached its threshold (engine/models/thresholds.py)


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level in dB relative to full scale (-120 for digital silence)."""
    if samples.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return max(-120.0, 20.0 * np.log10(rms + 1e-12))


@dataclass(frozen=True)
class LiveResult:
    """One hop's outcome; ``top`` holds (label, smoothed probability), best first."""

    top: list[tuple[str, float]]
    probs: np.ndarray | None          # smoothed probabilities over all labels (None when silent)
    silent: bool
    level_dbfs: float
    end_sample: int                    # absolute index (source rate) of the window's end
    latency_s: float                   # newest block arrival -> label ready
    inference_s: float
    real_time_factor: float            # inference_s / hop_s
    dropped_samples: int = 0
    labels: list[str] = field(default_factory=list)
    calibration: str = ""              # how far calibration to the voice is ("" when not calibrating)
    unrecognised: str = ""             # why no class passed its threshold ("" when one did, or no thresholds)

    @property
    def label(self) -> str:
        if self.silent or not self.top:
            return SILENCE_LABEL
        return NOTHING_LABEL if self.unrecognised else self.top[0][0]


@dataclass(frozen=True)
class LabelTiming:
    """Where the audio behind a label lies, in seconds before the newest sample heard."""

    start_ago_s: float   # the window's first sample
    end_ago_s: float     # the window's last sample (how long since the label could have been made)
    smoothing_s: float = 0.0  # how much earlier the oldest window the label averages ended

    @property
    def middle_ago_s(self) -> float:
        """The middle of the newest window, seconds ago."""
        return (self.start_ago_s + self.end_ago_s) / 2

    @property
    def lag_s(self) -> float:
        """How far the label trails the voice: a change wins once it fills half the newest window
        and half of the windows the label averages, so the middle of the newest window plus half
        the averaged span (measured on a switching tone: tests/engine/live/test_stream.py)."""
        return self.middle_ago_s + self.smoothing_s / 2


def label_timing(result: LiveResult, newest_sample: int, window_s: float, sample_rate_hz: int, *,
                 smoothing: int = 1, hop_s: float = 0.0) -> LabelTiming:
    """The span of ``result``'s window relative to ``newest_sample`` (the ring's ``total_written``),
    and of the ``smoothing`` windows, ``hop_s`` apart, whose probabilities the label averages."""
    end_ago_s = max(0.0, (newest_sample - result.end_sample) / sample_rate_hz)
    return LabelTiming(end_ago_s + window_s, end_ago_s, max(0, int(smoothing) - 1) * float(hop_s))


class InputWatch:
    """Notices an input that stopped delivering audio: ``update(total_written, now_s)`` returns
    the seconds without new audio once that exceeds ``stall_s``, else None."""

    def __init__(self, stall_s: float = 1.0) -> None:
        self.stall_s = stall_s
        self._total = -1
        self._since: float | None = None

    def reset(self) -> None:
        self._total, self._since = -1, None

    def update(self, total_written: int, now_s: float) -> float | None:
        if total_written != self._total or self._since is None:
            self._total, self._since = total_written, now_s
            return None
        quiet_s = now_s - self._since
        return quiet_s if quiet_s >= self.stall_s else None


class StreamingClassifier:
    """Classify a live stream window by window.

    ``classifier`` needs ``meta.labels``, ``meta.sample_rate_hz``, ``meta.clip_s`` and
    ``classify(samples) -> probs`` (an :class:`engine.models.classifier.OnnxClassifier`).
    ``source_rate_hz`` is the capture rate; windows are resampled to the model's rate.
    ``calibrate``: a calibratable model is calibrated to the voice it hears
    (:class:`engine.live.voice_calibration.VoiceCalibration`).
    """

    def __init__(self, classifier, *, source_rate_hz: int | None = None, window_s: float | None = None,
                 hop_s: float = 0.5, smoothing: int = 3, silence_dbfs: float = -50.0, top_k: int = 5,
                 max_backlog_hops: int = 2, clock=time.monotonic, calibrate: bool = False) -> None:
        meta = classifier.meta
        self.classifier = classifier
        self.calibration = None
        if calibrate and getattr(classifier, "calibratable", False):
            from engine.live.voice_calibration import VoiceCalibration

            self.calibration = VoiceCalibration(classifier)
        self.labels = list(meta.labels)
        self.model_rate_hz = int(meta.sample_rate_hz)
        self.source_rate_hz = int(source_rate_hz or self.model_rate_hz)
        self.window_s = float(window_s or meta.clip_s)
        if hop_s <= 0 or self.window_s <= 0:
            raise ValueError(f"window_s and hop_s must be positive, got {self.window_s} and {hop_s}")
        self.hop_s = float(hop_s)
        self.smoothing = max(1, int(smoothing))
        self.silence_dbfs = float(silence_dbfs)
        self.top_k = top_k
        self.max_backlog_hops = max_backlog_hops
        self._clock = clock
        self._history: deque[np.ndarray] = deque(maxlen=self.smoothing)

    @property
    def window_samples(self) -> int:
        return max(1, round(self.window_s * self.source_rate_hz))

    @property
    def hop_samples(self) -> int:
        return max(1, round(self.hop_s * self.source_rate_hz))

    def reset(self) -> None:
        self._history.clear()

    def step(self, reader: RingReader) -> list[LiveResult]:
        """Classify every whole hop available (skipping a stale backlog to stay live)."""
        hop, window = self.hop_samples, self.window_samples
        skipped = reader.skip_to_latest(self.max_backlog_hops, hop)
        results = []
        while (got := reader.next_hop(hop, window)) is not None:
            samples, end = got
            arrival = reader.ring.arrival_time(end)
            copy = np.array(samples, dtype=np.float32, copy=True)
            if not reader.ring.is_intact(end, window):
                skipped += reader.skip_lapped()
                continue
            results.append(self.process(copy, end, arrival_s=arrival, dropped_samples=skipped))
            skipped = 0
        return results

    def process(self, window: np.ndarray, end_sample: int = 0, *, arrival_s: float | None = None,
                dropped_samples: int = 0) -> LiveResult:
        """Classify one window (at the source rate) and smooth it with the previous ones."""
        started = self._clock()
        arrival = started if arrival_s is None else arrival_s
        level = level_dbfs(window)
        if level < self.silence_dbfs:
            self._history.clear()
            done = self._clock()
            return LiveResult([], None, True, level, end_sample, done - arrival, 0.0, 0.0,
                              dropped_samples, self.labels)
        samples = window
        if self.source_rate_hz != self.model_rate_hz:
            from engine.audio.io import resample

            samples = resample(window, self.source_rate_hz, self.model_rate_hz)
        classifier = self.classifier
        if self.calibration is not None:
            classifier = self.calibration.observe(samples, self.hop_s)
        probs = np.asarray(classifier.classify(samples), dtype=np.float64).reshape(-1)
        self._history.append(probs)
        smoothed = np.mean(np.stack(self._history), axis=0)
        done = self._clock()
        inference_s = done - started
        order = np.argsort(smoothed)[::-1][: self.top_k]
        top = [(self.labels[i], float(smoothed[i])) for i in order]
        thresholds = getattr(self.classifier, "thresholds", None)   # test doubles may have none
        unrecognised = decide(smoothed, self.labels, thresholds).reason if thresholds is not None else ""
        return LiveResult(top, smoothed, False, level, end_sample, done - arrival, inference_s,
                          inference_s / self.hop_s, dropped_samples, self.labels,
                          self.calibration.describe() if self.calibration is not None else "", unrecognised)
