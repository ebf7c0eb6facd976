"""Soak the live view on the real capture path: PortAudio -> ALSA -> PulseAudio -> a paced "microphone".

    .venv/bin/python scripts/soak.py --seconds 300 [--model M.onnx] [--json OUT.json]

The microphone is tests/paced_mic.py (../shared/recipes/virtual-microphone.md): a private
PulseAudio server whose default source is a pipe, fed by a separate feeder process in 10 ms
chunks on an absolute schedule, so capture is paced by a clock, as by a sound card. (ALSA's
``file`` plugin, used before, has no clock behind a regular file and pads short reads with
stale data behind a FIFO: it cannot pace a soak.)

The feeder sends a counting ramp (sample k = (k mod 4096)/4096 - 0.5, exact in float32), and
a checker reads the live view's ring buffer through its own cursor, so any lost, repeated or
reordered sample is seen. Reported: blocks, overflows, ramp gaps, samples the classifier
skipped, RSS over time (slope), latency percentiles per quarter of the run. Exit status 0
when nothing was dropped; the JSON goes to stdout (last line) and ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RATE_HZ = 16000
BLOCK = 512
RAMP = 4096


def feed(folder: str, seconds: float) -> int:
    """The feeder process: a paced microphone in ``folder`` sending the ramp for ``seconds``."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from tests.paced_mic import PacedMic

    k = [0]

    def ramp(n: int):
        block = ((np.arange(k[0], k[0] + n) % RAMP) / RAMP - 0.5).astype(np.float32)
        k[0] += n
        return block

    mic = PacedMic(folder, rate_hz=RATE_HZ, chunk_source=ramp)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    mic.start()
    print("ready", flush=True)
    end = time.monotonic() + seconds
    while not stop and time.monotonic() < end:
        time.sleep(0.05)
    mic.stop()
    print(json.dumps({"feeder_samples": mic.frames_fed, "feeder_late_chunks": mic.late_chunks}),
          file=sys.stderr, flush=True)
    return 0


def ramp_gaps(samples, previous):
    """Count breaks in the ramp (a lost, repeated or reordered sample); return (gaps, last sample)."""
    import numpy as np

    if samples.size == 0:
        return 0, previous
    values = np.concatenate([[previous] if previous is not None else [], samples]).astype(np.float64)
    diffs = np.diff(values)
    step = 1.0 / RAMP
    ok = np.isclose(diffs, step, atol=1e-7) | np.isclose(diffs, step - 1.0, atol=1e-7)
    return int((~ok).sum()), float(samples[-1])


def percentiles(values):
    import numpy as np

    if not values:
        return {}
    arr = np.asarray(values) * 1000.0
    return {f"p{q}_ms": round(float(np.percentile(arr, q)), 2) for q in (50, 95, 99)} | {
        "max_ms": round(float(arr.max()), 2), "n": len(values)}


def run_live(model: Path, seconds: float) -> dict:
    """Run LiveView on the default device (the FIFO) for ``seconds``; return the figures."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from engine.live.sources import MicSource
    from engine.models.catalog import ModelCatalog
    from gui.live_view import LiveView
    from gui.settings import Settings

    app = QApplication.instance() or QApplication([])
    catalog = ModelCatalog([])
    catalog.select(model)
    settings_dir = Path(tempfile.mkdtemp(prefix="earmark-soak-"))
    view = LiveView(catalog, Settings.at(settings_dir / "soak.ini"))
    results = []  # small tuples, not the LiveResult objects: the harness must not grow either
    view.labelled.connect(lambda r: results.append(_Seen(r.latency_s, r.inference_s, r.silent, r.dropped_samples)))
    if not view.start(lambda ring, rate: MicSource(ring, rate, device=None, block_size=BLOCK), RATE_HZ):
        raise SystemExit(f"the live view did not start: {view.message_label.text()}")
    checker = view.ring.reader()
    gaps, expected, checked, lapped = 0, None, 0, 0
    rss, t0 = [], time.monotonic()
    next_sample = t0
    while time.monotonic() - t0 < seconds:
        app.processEvents()
        lapped += checker.skip_lapped()
        block = checker.read()
        if block.size:
            new_gaps, expected = ramp_gaps(block, expected)  # the first block aligns the check
            gaps += new_gaps
            checked += block.size
        now = time.monotonic()
        if now >= next_sample:
            rss.append((round(now - t0, 1), _rss_mib()))
            next_sample += 1.0
        time.sleep(0.01)
    source = view.source
    figures = {
        "seconds": round(time.monotonic() - t0, 1), "blocks": source.block_count,
        "overflows": source.overflow_count, "samples_checked": checked,
        "expected_samples": int((time.monotonic() - t0) * RATE_HZ), "ramp_gaps": gaps,
        "lapped_samples": lapped, "results": len(results),
        "classifier_skipped_samples": int(sum(r.dropped_samples for r in results)),
        "rss": _rss_summary(rss), "latency": _latency_by_quarter(results),
        "error": view.message_label.text(),
    }
    view.shutdown()
    return figures


class _Seen(tuple):
    __slots__ = ()

    def __new__(cls, latency_s, inference_s, silent, dropped_samples):
        return super().__new__(cls, (latency_s, inference_s, silent, dropped_samples))

    latency_s = property(lambda self: self[0])
    inference_s = property(lambda self: self[1])
    silent = property(lambda self: self[2])
    dropped_samples = property(lambda self: self[3])


def _rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return round(int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def _rss_summary(rss):
    import numpy as np

    # the display history fills during the first ~20 s; "steady" is the second half of the run
    steady = rss[len(rss) // 2:] or rss
    t, mib = np.array([r[0] for r in steady]), np.array([r[1] for r in steady])
    slope = float(np.polyfit(t, mib, 1)[0] * 60) if len(steady) > 2 else 0.0
    return {"first_mib": rss[0][1], "steady_start_mib": float(mib[0]), "end_mib": float(mib[-1]),
            "max_mib": max(r[1] for r in rss), "steady_growth_mib": round(float(mib[-1] - mib[0]), 2),
            "steady_slope_mib_per_min": round(slope, 3),
            "samples": [list(r) for r in rss[:: max(1, len(rss) // 30)]]}


def _latency_by_quarter(results):
    heard = [r.latency_s for r in results if not r.silent]
    quarter = max(1, len(heard) // 4)
    return {"all": percentiles(heard),
            "quarters": [percentiles(heard[i:i + quarter]) for i in range(0, len(heard), quarter)][:4],
            "inference": percentiles([r.inference_s for r in results if not r.silent])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--model", type=Path, help="an Earmark .onnx at 16 kHz (default: a built-in tone model)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--feed", help=argparse.SUPPRESS)  # internal: run as the feeder
    args = parser.parse_args(argv)
    if args.feed:
        return feed(args.feed, args.seconds)
    work = Path(tempfile.mkdtemp(prefix="earmark-soak-"))  # short: it holds the server's unix socket
    model = args.model or _tone_model(work / "tones.onnx")
    sys.path.insert(0, str(ROOT))
    from tests.paced_mic import PacedMic, missing_reason

    reason = missing_reason()
    if reason:
        raise SystemExit(f"soak: {reason}")
    mic_env = PacedMic(work / "mic").env
    feeder = subprocess.Popen([sys.executable, __file__, "--feed", str(work / "mic"), "--seconds",
                               str(args.seconds + 60)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if feeder.stdout.readline().strip() != "ready":
        raise SystemExit(f"soak: the paced microphone did not start: {feeder.communicate(timeout=30)[1][-2000:]}")
    os.environ.update(mic_env)  # before PortAudio starts (first import): ALSA reads its config once
    os.environ.pop("ALSA_CONFIG_PATH", None)
    try:
        figures = run_live(model, args.seconds)
    finally:
        feeder.terminate()
        _, feeder_err = feeder.communicate(timeout=20)
    figures["feeder"] = feeder_err.strip().splitlines()[-1:] or []
    figures["ok"] = (figures["ramp_gaps"] == 0 and figures["overflows"] == 0 and figures["lapped_samples"] == 0
                     and figures["classifier_skipped_samples"] == 0 and figures["results"] > 0)
    text = json.dumps(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    print(text)
    return 0 if figures["ok"] else 1


def _tone_model(path: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from tests.helpers_onnx import write_tone_model  # needs the onnx package (dev install)

    return write_tone_model(path, sample_rate_hz=RATE_HZ, clip_s=1.0)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
