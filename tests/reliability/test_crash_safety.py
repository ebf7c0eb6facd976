"""Crash safety: SIGKILL a process at random moments while it saves, again and again.

A forked child saves in a loop through ``engine.atomic`` and ``engine.audio.io.save_audio``:
a JSON state (like label edits, settings, manifests), a WAV recording and a model-sized
binary. The parent kills it after a random delay, then checks every file is absent (only
before the first save), or a complete, self-consistent version that never goes backwards.
A control runs the same loop with plain ``open().write()`` and must see torn files, which
shows that the kill lands mid-write. Training resume after a kill is covered by the
trainer's own tests (see docs/RELIABILITY.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.atomic import atomic_write_bytes, atomic_write_json
from engine.audio.io import save_audio

pytestmark = [pytest.mark.timeout(180), pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")]

KILLS = int(os.environ.get("EARMARK_CRASH_KILLS", "50"))
BUDGET_S = float(os.environ.get("EARMARK_CRASH_BUDGET_S", "20"))
RATE_HZ = 8000
N_AUDIO = 8000
BLOB_BYTES = 1 << 20


def payloads(i: int) -> tuple[dict, np.ndarray, bytes]:
    """Version ``i`` of each file; every version is distinguishable and self-checking."""
    state = {"version": i, "clips": [{"path": f"clip{k}.wav", "label": f"label{(k + i) % 7}"} for k in range(3000)]}
    audio = np.full(N_AUDIO, (i % 200 - 100) / 128.0, dtype=np.float32)
    body = np.random.default_rng(i).integers(0, 256, BLOB_BYTES - 40, dtype=np.uint8).tobytes()
    blob = i.to_bytes(8, "little") + hashlib.sha256(body).digest() + body
    return state, audio, blob


def atomic_saver(folder: Path, start: int) -> None:
    for i in range(start, start + 10**9):
        state, audio, blob = payloads(i)
        atomic_write_json(folder / "state.json", state)
        save_audio(folder / "clip.wav", audio, RATE_HZ)
        atomic_write_bytes(folder / "model.bin", blob)


def naive_saver(folder: Path, start: int) -> None:
    for i in range(start, start + 10**9):
        state, _, blob = payloads(i)
        (folder / "state.json").write_text(json.dumps(state))
        (folder / "model.bin").write_bytes(blob)


def read_versions(folder: Path) -> dict[str, int | None]:
    """The version each file holds (None: absent); raises AssertionError on a torn file."""
    found: dict[str, int | None] = {}
    state_path = folder / "state.json"
    if state_path.exists():
        state = json.loads(state_path.read_text())  # a torn file raises here
        assert state == payloads(state["version"])[0]
        found["state"] = state["version"]
    else:
        found["state"] = None
    blob_path = folder / "model.bin"
    if blob_path.exists():
        blob = blob_path.read_bytes()
        assert len(blob) == BLOB_BYTES and hashlib.sha256(blob[40:]).digest() == blob[8:40], "torn model file"
        found["model"] = int.from_bytes(blob[:8], "little")
    else:
        found["model"] = None
    wav_path = folder / "clip.wav"
    if wav_path.exists():
        samples, rate = sf.read(wav_path, dtype="float32")
        assert rate == RATE_HZ and len(samples) == N_AUDIO, "torn recording"
        level = round(float(samples[0]) * 128) + 100
        assert np.all(samples == samples[0])
        found["audio"] = level
    else:
        found["audio"] = None
    return found


def run_and_kill(saver, folder: Path, start: int, delay_s: float) -> int:
    pid = os.fork()
    if pid == 0:  # child: save until killed; never return into pytest
        try:
            saver(folder, start)
        finally:
            os._exit(0)
    time.sleep(delay_s)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    return pid


def test_sigkill_during_atomic_saves_never_leaves_a_torn_file(tmp_path, record_property):
    rng = np.random.default_rng(7)
    last = {"state": None, "model": None, "audio": None}
    kills = mid_write = 0
    deadline, t0 = time.monotonic() + BUDGET_S, time.monotonic()
    while kills < KILLS and time.monotonic() < deadline:
        start = (last["state"] or 0) + 1
        pid = run_and_kill(atomic_saver, tmp_path, start, float(rng.uniform(0.0, 0.25)))
        kills += 1
        mid_write += any(f".{pid}." in p.name for p in tmp_path.iterdir())  # its temporary survived it
        found = read_versions(tmp_path)
        for name, version in found.items():
            if last[name] is not None:
                assert version is not None, f"{name} vanished after kill {kills}"
                if name != "audio":  # audio levels wrap around; state and model only grow
                    assert version >= last[name], f"{name} went back from {last[name]} to {version}"
            last[name] = version
    record_property("kills", kills)
    record_property("kills_mid_write", mid_write)
    print(f"\n{kills} SIGKILLs in {time.monotonic() - t0:.1f} s, {mid_write} of them mid-write; "
          f"last versions {last}")
    assert kills >= min(KILLS, 10)
    assert mid_write >= 1, "no kill landed inside a save: the loop proves nothing"
    assert last["state"] is not None and last["state"] > 1, "the saver never completed a save"
    # debris: temporaries of killed writers are removed by the next save of the same file
    atomic_write_json(tmp_path / "state.json", {"version": 0})
    save_audio(tmp_path / "clip.wav", np.zeros(10, np.float32), RATE_HZ)
    atomic_write_bytes(tmp_path / "model.bin", b"")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.wav", "model.bin", "state.json"]


def test_control_plain_writes_do_tear(tmp_path):
    """Without engine.atomic the same kill loop leaves a half-written file (the test has teeth)."""
    rng = np.random.default_rng(3)
    for attempt in range(60):
        run_and_kill(naive_saver, tmp_path, attempt * 1000 + 1, float(rng.uniform(0.02, 0.2)))
        try:
            read_versions(tmp_path)
        except (AssertionError, ValueError):  # json.JSONDecodeError is a ValueError
            return
    pytest.fail("60 kills of a plain writer never caught a torn file: the kill loop proves nothing")


def _record_until_killed(folder: Path, fmt: str, progress_fd: int) -> None:
    from engine.live.recorder import Recorder
    from engine.live.ringbuffer import RingBuffer

    ring = RingBuffer(RATE_HZ * 4)
    recorder = Recorder(ring, RATE_HZ, folder, fmt=fmt, poll_s=0.01)
    recorder.start()
    source = (0.3 * np.sin(np.arange(RATE_HZ * 30) / 5.0)).astype(np.float32)
    for i in range(0, len(source), 800):
        ring.write(source[i:i + 800])
        time.sleep(0.1)  # real time: 800 samples per 100 ms at 8 kHz
        os.write(progress_fd, f"{recorder.n_samples_written}\n".encode())


# WAV: at most the block in flight; FLAC: also the encoder's unfinished frames (2 x 4096 samples)
@pytest.mark.parametrize(("fmt", "max_lost"), [("wav", 1600), ("flac", 1600 + 8192)])
def test_sigkill_during_a_recording_keeps_the_audio_so_far(tmp_path, fmt, max_lost):
    """A recording streams to disk (not atomic by design): after a SIGKILL the file still loads,
    holding what was written up to the kill (FLAC loses its encoder's unflushed frames)."""
    from engine.audio.io import load_audio

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            _record_until_killed(tmp_path, fmt, write_fd)
        finally:
            os._exit(0)
    os.close(write_fd)
    time.sleep(1.5)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    with os.fdopen(read_fd) as progress:
        written = int(progress.read().split()[-1])
    (path,) = list(tmp_path.glob(f"*.{fmt}"))
    audio = load_audio(path)
    source = (0.3 * np.sin(np.arange(RATE_HZ * 30) / 5.0)).astype(np.float32)
    assert written > RATE_HZ // 2
    assert len(audio.samples) >= written - max_lost, (len(audio.samples), written)
    np.testing.assert_allclose(audio.samples, source[: len(audio.samples)], atol=1e-4)


SETTINGS_CHILD = """
import sys
from gui.settings import Settings
settings = Settings.at(sys.argv[1])
i = int(sys.argv[2])
print("ready", flush=True)
while True:
    i += 1
    folder = f"/recordings/{i}/" + "x" * 2000  # a long value: more bytes to tear
    settings.set("record/folder", folder)
    settings.set("live/hop_s", i / 1000)
    settings.set("models/current", str(i))
    settings.sync()
"""


def test_sigkill_while_settings_are_saved(tmp_path):
    """Settings go through QSettings (which writes via QSaveFile): a kill never leaves half an INI."""
    import sys

    pytest.importorskip("PySide6")
    from gui.settings import Settings

    root = Path(__file__).resolve().parents[2]
    ini = tmp_path / "earmark.ini"
    rng = np.random.default_rng(11)
    last = 0
    for _ in range(int(os.environ.get("EARMARK_SETTINGS_KILLS", "5"))):
        child = subprocess.Popen([sys.executable, "-c", SETTINGS_CHILD, str(ini), str(last)], cwd=root,
                                 env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.01, 0.3)))
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stdout.close()
        if not ini.exists():
            continue
        settings = Settings.at(ini)
        current = int(settings.get("models/current") or 0)
        assert settings.get("record/folder") == f"/recordings/{current}/" + "x" * 2000, "torn settings"
        assert settings.get("live/hop_s") == pytest.approx(current / 1000)
        assert current >= last
        last = current
    assert last > 0, "no save completed before the kills"
    # QSaveFile may leave its temporary (earmark.ini.XXXXXX) after a kill; the INI itself is whole
    assert all(p.name.startswith("earmark.ini") for p in tmp_path.iterdir())


def test_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    """What a SIGKILLed writer leaves (``.name.<pid>.<random>.tmp``) goes at the next save of that file."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    target = tmp_path / "labels.json"
    stale = tmp_path / f".labels.json.{dead.pid}.abc123.tmp"
    live = tmp_path / f".labels.json.{os.getppid()}.def456.tmp"  # a running process: maybe mid-save
    other = tmp_path / f".other.json.{dead.pid}.ghi789.tmp"  # another file's: not ours to touch
    for path in (stale, live, other):
        path.write_text("half")
    atomic_write_json(target, {"ok": True})
    assert not stale.exists() and live.exists() and other.exists()
    assert json.loads(target.read_text()) == {"ok": True}
