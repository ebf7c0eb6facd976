"""Run the live view on the real PortAudio capture path for a while and print what happened, as JSON.

Run in a subprocess whose environment finds a paced virtual microphone (tests/paced_mic.py,
../shared/recipes/virtual-microphone.md) through ALSA's default device:

    python -m tests.gui.virtual_mic_probe MODEL SETTINGS_INI --listen-s 6 [--record FOLDER]

It starts the live view on the default input, prints ``{"ready": ...}`` (the test then plays
audio into the microphone), listens for ``--listen-s`` seconds (recording meanwhile with
``--record``), and prints one JSON line: every label with its time, the blocks PortAudio
delivered, the samples that reached the ring buffer against the wall time, overflows and the
recording's path and what the Record box said about it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _wait(app, predicate, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)
    return predicate()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("ini")
    parser.add_argument("--listen-s", type=float, default=6.0)
    parser.add_argument("--record", default=None, help="record into this folder while listening")
    parser.add_argument("--capture", choices=("model", "device"), default="model", help="the sample rate to capture at")
    parser.add_argument("--channels", type=int, default=2, help="2: stereo where the device has it; 1: mono")
    parser.add_argument("--subtype", default="PCM_16", help="the recording's sample format")
    args = parser.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from engine.live.sources import list_input_devices
    from engine.models.catalog import ModelCatalog
    from gui.live_view import LiveView
    from gui.settings import Settings

    app = QApplication([])
    catalog = ModelCatalog([])
    catalog.select(args.model)
    settings = Settings.at(args.ini)
    if args.record:
        settings.set("record/folder", args.record)
    settings.set("live/capture", args.capture)
    settings.set("live/channels", args.channels)
    settings.set("record/subtype", args.subtype)
    view = LiveView(catalog, settings)
    out = {"devices": [d.name for d in list_input_devices()], "device": view.device_combo.currentText()}
    started = view.start()
    out["started"], out["error"] = bool(started), view.message_label.text()
    if not started:
        print(json.dumps(out), flush=True)
        return 1
    results, t0 = [], time.monotonic()
    view.labelled.connect(lambda r: results.append((round(time.monotonic() - t0, 3), r.label, bool(r.silent),
                                                    r.latency_s)))
    if args.record:
        out["record_started"] = view.start_recording()
    ring_start = view.ring.total_written
    print(json.dumps({"ready": True, "rate_hz": view.sample_rate_hz}), flush=True)
    _wait(app, lambda: False, args.listen_s)
    out["wall_s"] = round(time.monotonic() - t0, 3)
    out["captured_samples"] = view.ring.total_written - ring_start
    out["rate_hz"] = view.sample_rate_hz
    out["shown"] = {"now": view.now_label.text(), "bars": view.bars.items}
    out["overflows"] = getattr(view.source, "overflow_count", None)
    out["blocks"] = getattr(view.source, "block_count", None)
    out["channels"] = getattr(view.source, "channels", None)
    out["capture_label"] = view.input_panel.capture_label.text()
    out["format_label"] = view.record_panel.format_label.text()
    if args.record:
        recorder = view.recorder
        out["record_path"] = str(recorder.path) if recorder else None
        view.record_panel.stop_recording()
        out["record_label"] = view.record_label.text()
    view.stop()
    out["results"] = results
    view.shutdown()
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
