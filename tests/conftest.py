"""Test-wide settings: offscreen Qt, quiet threads, small deterministic fixtures."""

from __future__ import annotations

import os
import sys
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One intra-op thread: on 2 cores, 2 torch threads per test process oversubscribe badly
# (a tiny training step measured 10 ms with 1 thread vs 220-745 ms with 2 under load).
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

# Tests that measure the window's stalls, a latency or real time (a paced microphone, an X
# server of their own, a mouse paced through one): ``./earmark test`` runs them alone, before the
# others run on two workers, so a neighbour's load never decides them. One place: add a file here, not a marker per test.
EXCLUSIVE = {
    "tests/engine/live/test_sources.py", "tests/engine/live/test_stream.py",
    "tests/gui/test_annotate_day.py", "tests/gui/test_annotate_import_big.py", "tests/gui/test_annotate_long.py",
    "tests/gui/test_annotate_redo_xcb.py", "tests/gui/test_gui_stalls.py", "tests/gui/test_index_map_lasso_xcb.py",
    "tests/gui/test_index_map_stalls.py",
    "tests/gui/test_job_worker.py",
    "tests/gui/test_live_honesty.py", "tests/gui/test_playback_device.py", "tests/gui/test_spectrogram_views.py",
    "tests/gui/test_virtual_mic.py", "tests/gui/test_wizard_open.py", "tests/gui/test_wizard_stalls.py",
    "tests/reliability/test_slow_close.py", "tests/reliability/test_soak.py",
}


def pytest_collection_modifyitems(config, items):
    root = Path(str(config.rootpath))
    for item in items:
        if Path(str(item.path)).relative_to(root).as_posix() in EXCLUSIVE:
            item.add_marker(pytest.mark.exclusive)


@pytest.fixture(autouse=True)
def _no_leaked_threads():
    """Fail any test that leaves a Python thread running."""
    before = set(threading.enumerate())
    yield
    deadline = 5.0
    import time

    end = time.monotonic() + deadline
    while True:
        leaked = [
            t for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.daemon
        ]
        if not leaked or time.monotonic() > end:
            break
        time.sleep(0.05)
    assert not leaked, f"test left threads running: {leaked}"


@pytest.fixture(scope="session")
def _session_cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("user-cache")


@pytest.fixture(autouse=True)
def _user_cache_in_tmp(_session_cache_dir, monkeypatch):
    """Feature caches and kept audit rankings go to a folder of this test session, never to the
    person's own user cache (a test that wants its own folder sets EARMARK_CACHE_DIR itself)."""
    monkeypatch.setenv("EARMARK_CACHE_DIR", str(_session_cache_dir))
    # and a person's saved class thresholds are never read or written by a test
    monkeypatch.setenv("EARMARK_THRESHOLDS_DIR", str(_session_cache_dir / "thresholds"))
    monkeypatch.setenv("EARMARK_CORRECTIONS_DIR", str(_session_cache_dir / "corrections"))
    yield


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One torch intra-op thread in every test (OMP_NUM_THREADS above covers a fresh import;
    this covers a test that changed it). Never imports torch itself."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)
    yield


@pytest.fixture
def portaudio_missing(monkeypatch):
    """Make ``import sounddevice`` fail as it does when libportaudio2 is not installed."""
    import builtins

    real_import = builtins.__import__

    def no_portaudio(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("cannot load library 'libportaudio.so.2': PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_portaudio)


@pytest.fixture
def write_wav(tmp_path):
    """Write a WAV under tmp_path: write_wav(name, samples, sample_rate_hz)."""

    def _write(name: str, samples: np.ndarray, sample_rate_hz: int = 16000, subtype: str = "PCM_16"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, samples, sample_rate_hz, subtype=subtype)
        return path

    return _write


def sine(freq_hz: float, seconds: float, sample_rate_hz: int = 16000, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate_hz)) / sample_rate_hz
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def shared_dir() -> Path:
    """The project's shared/ folder: beside the checkout (CI), else /work/shared."""
    beside = Path(__file__).resolve().parents[2] / "shared"
    return beside if beside.is_dir() else Path(os.environ.get("EARMARK_SHARED", "/work/shared"))


EMODB_2S = shared_dir() / "data" / "emodb-2s"
