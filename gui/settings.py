"""Settings remembered between runs, through one typed wrapper over ``QSettings``."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

DEFAULTS = {
    "live/device": "",
    "live/window_s": 0.0,          # 0: the model's clip length
    "live/hop_s": 0.5,
    "live/smoothing": 3,
    "live/silence_dbfs": -50.0,
    "live/calibrate": True,         # a calibratable model calibrated to the voice after 20 s of it
    "live/capture": "model",        # "model": the model's sample rate; "device": the device's own
    "live/channels": 2,             # 2: stereo where the device has it (the model hears the mix); 1: mono
    "record/folder": str(Path.home() / "Earmark recordings"),
    "record/format": "wav",
    "record/subtype": "PCM_16",     # PCM_16, PCM_24 or FLOAT (WAV only)
    "file/last_dir": str(Path.home()),
    "file/hop_s": 0.5,
    "file/n_fft": 512,              # the File tab's spectrogram (gui/widgets/spectrogram_settings.py)
    "file/window": "hann",
    "file/overlap": 0.75,
    "file/calibrate": True,         # a calibratable model normalised to the open recording's speaker
    "file/recent": "[]",            # JSON list of paths, most recent first (gui/widgets/recent_menu.py)
    "audit/last_dir": str(Path.home()),  # where File ▸ Open data set… starts
    "audit/last_data_set": "",      # reopened at start
    "audit/last_layout": "",
    "audit/n_fft": 512,             # the Audit tab's clip spectrogram
    "audit/window": "hann",
    "audit/overlap": 0.75,
    "annotate/labels": "",
    "annotate/n_fft": 1024,         # the Annotate tab's spectrogram
    "annotate/window": "hann",
    "annotate/overlap": 0.75,
    "annotate/db_range": 80.0,
    "annotate/db_top": -120.0,      # the level drawn brightest (dB re full scale); -120: the loudest in view
    "annotate/colormap": "inferno",
    "annotate/freq_axis": "linear",
    "annotate/min_confidence": 0.5,
    "annotate/labels_dir": "",
    "file/spectrogram": "",         # the File tab's spectrogram look (JSON: colormap, db_range)
    "audit/spectrogram": "",        # the Audit tab's
    "annotate/speed": 1.0,          # playback speed (0.25-2)
    "annotate/keep_pitch": True,    # False: the pitch follows the speed (time expansion)
    "wizard/model": "",             # the model page's choices of the last run (JSON)
    "annotate/last_recording": "",  # open in the Annotate tab when the app was last closed      # where label files were last imported from or exported to
    "models/current": "",
    "models/user_folder": "",
    "window/geometry": QByteArray(),
    "window/tab": 0,
}


class Settings:
    """``settings.get("live/hop_s")`` returns the stored value converted to the default's type."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self._q = qsettings or QSettings("Earmark", "Earmark")

    @classmethod
    def at(cls, path: str | Path) -> Settings:
        """Settings kept in an INI file (tests, portable installs)."""
        return cls(QSettings(str(path), QSettings.Format.IniFormat))

    def get(self, key: str):
        default = DEFAULTS[key]
        value = self._q.value(key, default)
        if value is None:
            return default
        try:
            if isinstance(default, bool):
                return value in (True, "true", "1", 1)
            if isinstance(default, (int, float, str)):
                return type(default)(value)
        except (TypeError, ValueError):
            return default
        return value

    def set(self, key: str, value) -> None:
        if key not in DEFAULTS:
            raise KeyError(f"unknown setting {key!r}")
        self._q.setValue(key, value)

    def sync(self) -> None:
        self._q.sync()
