"""The about box: what Earmark is and the versions it runs on."""

from __future__ import annotations

import platform
from importlib import metadata

from PySide6.QtWidgets import QMessageBox, QWidget

PACKAGES = ("earmark", "numpy", "scipy", "soundfile", "sounddevice", "onnxruntime", "PySide6-Essentials",
            "pyqtgraph")


def versions() -> dict[str, str]:
    found = {"Python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    try:
        from PySide6 import QtCore

        found["Qt"] = QtCore.qVersion()
    except ImportError:
        pass
    try:
        from engine.live.sources import import_sounddevice

        found["PortAudio"] = import_sounddevice().get_portaudio_version()[1]
    except Exception as exc:  # noqa: BLE001 - the about box must open even without PortAudio
        found["PortAudio"] = f"unavailable ({type(exc).__name__})"
    return found


def about_html() -> str:
    rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in versions().items())
    return ("<h2>Earmark</h2><p>A workbench for sound and speech-emotion classification: live and file "
            "classification with ONNX models, label audits and training.</p>"
            f"<table cellspacing=3>{rows}</table>")


def show_about(parent: QWidget) -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowTitle("About Earmark")
    box.setText(about_html())
    box.setIcon(QMessageBox.Icon.Information)
    box.open()
    return box
