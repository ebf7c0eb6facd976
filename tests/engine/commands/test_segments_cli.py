"""`classify MODEL ... --segments`: one segment table per file, streamed from disk in bounded memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.annotations.formats import read_regions
from engine.annotations.formats.stream import partial_path
from tests.conftest import sine
from tests.engine.onnx_fixtures import tone_model
from tests.helpers_rss import measured_result, start_measured

ROOT = Path(__file__).resolve().parents[3]
TONES = {60: 300, 1800: 2000, 5400: 300, 7150: 2000}  # second -> tone frequency (2 s each)


def _write_long(path: Path, seconds: int, rate: int) -> None:
    """A quiet noise recording with 2 s tones at TONES, written a minute at a time."""
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as out:
        for minute in range(0, seconds, 60):
            x = (0.001 * rng.standard_normal(60 * rate)).astype(np.float32)
            for at, freq in TONES.items():
                if minute <= at < minute + 60:
                    i = (at - minute) * rate
                    x[i:i + 2 * rate] += sine(freq, 2.0, rate)
            out.write(x)


def _main(*args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow  # writes and streams a 2-hour, 317 MB recording
@pytest.mark.skipif(sys.platform != "linux", reason="wait4 and ru_maxrss in kB are Linux's")
def test_a_two_hour_recording_streams_into_an_audacity_table_under_300_mb(tmp_path):
    rate = 22050  # resampled block by block to the model's 8 kHz
    long = tmp_path / "long.wav"
    _write_long(long, 7200, rate)
    assert sf.info(long).duration == 7200
    model = tone_model(tmp_path / "m.onnx")
    out = tmp_path / "tables"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    report = tmp_path / "rusage.json"
    proc = start_measured([sys.executable, ROOT / "main.py", "classify", model, long, "--segments", "--format",
                           "audacity", "--out", out, "--min-confidence", "0.9"], report, cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    table = out / "long.txt"
    seen_while_running = False
    while proc.poll() is None:  # the first segment (at 60 s) is on disk long before the end
        growing = partial_path(table)  # rows reach <table>.partial as found; the table appears whole at the end
        if growing.is_file() and growing.read_text().strip():
            seen_while_running = True
            break
        time.sleep(0.02)
    stdout, stderr = proc.communicate(timeout=600)
    returncode, peak_mb = measured_result(report)
    assert returncode == 0, stderr
    print(f"peak RSS of classify --segments on 2 h: {peak_mb:.0f} MB")
    assert peak_mb < 300
    assert seen_while_running, "the table had no rows until the process ended"
    assert str(table) in stdout and "4 segment(s)" in stdout
    segs = read_regions(table)[None]
    assert [r.label for r in segs] == ["low", "high", "low", "high"]
    for r, at in zip(segs, TONES, strict=True):
        assert at - 0.5 <= r.start_s <= at and at + 2 <= r.end_s <= at + 2.5


def test_folders_are_searched_recursively_and_mirrored_in_the_output(tmp_path):
    model = tone_model(tmp_path / "m.onnx")
    data = tmp_path / "data"
    (data / "site1" / "day2").mkdir(parents=True)
    sf.write(data / "a.wav", sine(300, 1.5, 8000), 8000)
    sf.write(data / "site1" / "day2" / "b.flac", sine(2000, 1.5, 16000), 16000)
    (data / "site1" / "notes.txt").write_text("not audio")
    (data / "site1" / "broken.wav").write_bytes(b"RIFF0000WAVEjunk")
    proc = _main("classify", model, data, "--segments", "--format", "raven", "--out", tmp_path / "out")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "broken.wav" in stderr and "1 of 3 file(s)" in stderr
    a = read_regions(tmp_path / "out" / "a.selections.txt")[None]
    b = read_regions(tmp_path / "out" / "site1" / "day2" / "b.selections.txt")[None]
    assert [r.label for r in a] == ["low"] and [r.label for r in b] == ["high"]
    assert a[0].confidence is not None and 0.5 <= a[0].confidence <= 1.0
    assert not (tmp_path / "out" / "site1" / "broken.selections.txt").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_ctrl_c_keeps_the_segments_written_so_far(tmp_path):
    import signal

    from tests.helpers_longwav import write_long_wav

    tones = {float(60 * k): 300.0 for k in range(1, 120)}  # a tone every minute for two hours
    long = write_long_wav(tmp_path / "night.wav", 7200, sample_rate_hz=8000, channels=1, tones=tones)
    model = tone_model(tmp_path / "m.onnx")
    table = tmp_path / "out" / "night.csv"
    proc = _main("classify", model, long, "--segments", "--format", "csv", "--out", tmp_path / "out",
                 "--min-confidence", "0.9")
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        growing = partial_path(table)
        if growing.is_file() and len(growing.read_text().splitlines()) >= 3:  # header and two segments
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "kept" in stderr
    segs = read_regions(table)[None]  # a whole, readable table, put in place on the interruption
    assert not partial_path(table).exists()
    assert 2 <= len(segs) < 119 and all(r.label == "low" for r in segs)


def test_class_thresholds_and_skipped_classes_from_the_command_line(tmp_path):
    model = tone_model(tmp_path / "m.onnx")
    x = np.concatenate([sine(300, 2.0, 8000), np.zeros(8000, np.float32), sine(2000, 2.0, 8000)])
    sf.write(tmp_path / "r.wav", x, 8000)
    out = tmp_path / "out"
    proc = _main("classify", model, tmp_path / "r.wav", "--segments", "--out", out, "--class-threshold", "high=1.0",
                 "--min-confidence", "0.9")
    assert proc.communicate(timeout=60) and proc.returncode == 0
    assert [r.label for r in read_regions(out / "r.csv")[None]] == ["low"]  # "high" can never reach 1.0 here
    proc = _main("classify", model, tmp_path / "r.wav", "--segments", "--out", out, "--skip-label", "low")
    proc.communicate(timeout=60)
    assert [r.label for r in read_regions(out / "r.csv")[None]] == ["high"]
    proc = _main("classify", model, tmp_path / "r.wav", "--segments", "--out", out, "--class-threshold", "owl=0.5")
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "unknown classes owl" in stderr
