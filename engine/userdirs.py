"""Where Earmark keeps things on a person's machine: one place for every folder it reads or makes.

Each folder can be moved by an environment variable (tests, portable installs, a shared cache);
otherwise it is the platform's own (platformdirs). Data a person made (models, runs) lives in the
user data folder, things that can be remade (features, rankings, indexes) in the cache folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "Earmark"


def bundled_model_dir() -> Path:
    """``models_onnx/`` beside the code (or inside a frozen app's bundle)."""
    base = getattr(sys, "_MEIPASS", None) or Path(__file__).resolve().parent.parent
    return Path(base) / "models_onnx"


def resource_dir() -> Path:
    """``resources/`` (icons, the demo clip) beside the code, or inside a frozen app's bundle."""
    return bundled_model_dir().parent / "resources"


def user_data_dir() -> Path:
    from platformdirs import user_data_dir as platform_data_dir

    return Path(platform_data_dir(APP, APP))


def user_model_dir() -> Path:
    """``$EARMARK_USER_MODELS`` or the user data folder / ``models``."""
    return Path(os.environ.get("EARMARK_USER_MODELS") or user_data_dir() / "models")


def runs_dir() -> Path:
    """Where training runs are kept: ``$EARMARK_RUNS_DIR`` or the user data folder / ``runs``."""
    return Path(os.environ.get("EARMARK_RUNS_DIR") or user_data_dir() / "runs")


def cache_dir(kind: str) -> Path:
    """A cache folder for ``kind`` (``features``, ``rankings``...): under ``$EARMARK_CACHE_DIR``
    or the user cache folder."""
    if os.environ.get("EARMARK_CACHE_DIR"):
        return Path(os.environ["EARMARK_CACHE_DIR"]) / kind
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("earmark")) / kind


def log_dir() -> Path:
    from platformdirs import user_log_dir

    return Path(user_log_dir(APP, appauthor=False))
