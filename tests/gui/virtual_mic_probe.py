"""Run the live view on the real PortAudio capture path and print what it labelled, as JSON.

Run in a subprocess whose HOME (or ALSA_CONFIG_PATH) points at an asoundrc that serves
``RAW_PATH`` as the default capture device (see ../shared/recipes/virtual-microphone.md):

    python -m tests.gui.virtual_mic_probe MODEL RAW_PATH SETTINGS_INI WAV [WAV...]

For each WAV, its samples (at the model's rate, float32) are written to RAW_PATH, the live
view starts on the default input device, and the first few labels are collected.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

N_RESULTS = 4


def _wait(app, predicate, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)
    return predicate()


def main(argv: list[str]) -> int:
    model, raw_path, ini, *wavs = argv
    from PySide6.QtWidgets import QApplication

    from engine.audio import load_audio
    from engine.catalog import ModelCatalog
    from engine.sources import list_input_devices
    from gui.live_view import LiveView
    from gui.settings import Settings

    app = QApplication([])
    catalog = ModelCatalog([])
    catalog.select(model)
    rate = catalog.classifier.meta.sample_rate_hz
    # ALSA's file plugin opens the raw file when PortAudio probes the device: it must exist
    load_audio(wavs[0], rate).samples.astype("<f4").tofile(raw_path)
    view = LiveView(catalog, Settings.at(ini))
    out = {"devices": [d.name for d in list_input_devices()], "device": view.device_combo.currentText(),
           "runs": []}
    for wav in wavs:
        load_audio(wav, rate).samples.astype("<f4").tofile(raw_path)
        results = []
        view.labelled.connect(results.append)
        started = view.start()
        ok = started and _wait(app, lambda r=results: len(r) >= N_RESULTS, 20.0)
        _wait(app, lambda: False, 0.1)  # let the display timer paint the newest result
        shown = {"now": view.now_label.text(), "bars": view.bars.items}
        overflows = getattr(view.source, "overflow_count", None)
        blocks = getattr(view.source, "block_count", None)
        view.stop()
        view.labelled.disconnect(results.append)
        out["runs"].append({
            "wav": wav, "ok": bool(ok), "error": view.message_label.text(), "shown": shown,
            "labels": [r.label for r in results], "top": [r.top for r in results],
            "latency_s": [r.latency_s for r in results], "overflows": overflows, "blocks": blocks,
        })
    view.shutdown()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
