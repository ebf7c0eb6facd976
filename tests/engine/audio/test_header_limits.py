"""One validation of audio headers for every reader (issue 25, S6, S7, D18): the streaming reader behind
`--segments` and the Annotate tab, and `clips`, refuse what `load_audio` refuses, and read many-channel
files one bounded block at a time; numeric options are checked before any work."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.audio.long import LongAudio
from engine.datasets.from_regions import make_clips
from engine.errors import AudioLoadError
from tests.conftest import sine
from tests.engine.onnx_fixtures import tone_model
from tests.reliability.support import wav_header

ROOT = Path(__file__).resolve().parents[3]


def _sparse_wav(path: Path, *, frames: int, sample_rate_hz: int, channels: int) -> Path:
    """A WAV of 16-bit silence claiming ``frames`` frames: huge on paper, a hole on disk."""
    n_data = frames * channels * 2
    with open(path, "wb") as handle:
        handle.write(wav_header(sample_rate_hz=sample_rate_hz, channels=channels, bits=16, n_data_bytes=n_data))
        handle.truncate(44 + n_data)
    return path


def _main(*args, timeout=60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def hostile(tmp_path):
    return {
        "ch1024": (_sparse_wav(tmp_path / "ch1024.wav", frames=48000 * 40, sample_rate_hz=48000, channels=1024),
                   "implausible channel count 1024"),
        "rate1hz": (_sparse_wav(tmp_path / "rate1hz.wav", frames=200_000, sample_rate_hz=1, channels=1),
                    "implausible sample rate 1 Hz"),
        "rate4mhz": (_sparse_wav(tmp_path / "rate4mhz.wav", frames=4_000_000, sample_rate_hz=4_000_000, channels=1),
                     "implausible sample rate 4000000 Hz"),
    }


def test_the_streaming_reader_refuses_what_load_audio_refuses(hostile):
    for path, reason in hostile.values():
        with pytest.raises(AudioLoadError, match=reason):
            LongAudio(path)


def test_segments_refuse_hostile_headers_at_once(hostile, tmp_path):
    model = tone_model(tmp_path / "m.onnx")
    started = time.monotonic()
    run = _main("classify", model, *[p for p, _ in hostile.values()], "--segments", "--out", tmp_path / "t")
    assert run.returncode == 1 and "3 of 3 file(s)" in run.stderr
    for _, reason in hostile.values():
        assert reason in run.stderr
    assert time.monotonic() - started < 30


def test_clips_refuse_hostile_headers(hostile, tmp_path):
    for path, reason in hostile.values():
        labels = tmp_path / f"{path.stem}.txt"
        labels.write_text("0.5\t1\tbird\n")
        with pytest.raises(AudioLoadError, match=reason):
            make_clips([path], [labels], tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_a_256_channel_file_streams_in_bounded_blocks(tmp_path):
    path = _sparse_wav(tmp_path / "ch256.wav", frames=48000 * 2, sample_rate_hz=48000, channels=256)
    with LongAudio(path) as audio:
        tracemalloc.start()
        try:
            n = sum(len(block) for block in audio.blocks(16000))
            x = audio.read(0.0, 2.0)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert abs(n - 32000) <= 1 and len(x) == 96000 and not x.any()
    assert peak < 40 << 20, f"peak {peak / 2**20:.0f} MiB"  # one block of 256 x 48 kHz x 2 s would be 94 MiB


@pytest.mark.parametrize("hop", ["-5", "0", "nan", "inf", "0.00001"])
def test_hop_is_validated_before_any_work(tmp_path, hop):
    model = tone_model(tmp_path / "m.onnx")
    sf.write(tmp_path / "r.wav", sine(300, 60.0, 8000), 8000)
    run = _main("classify", model, tmp_path / "r.wav", "--segments", "--out", tmp_path / "t", "--hop", hop,
                timeout=30)
    assert run.returncode == 2 and "--hop" in run.stderr
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize("option", [["--min-duration", "-1"], ["--merge-gap", "nan"], ["--min-confidence", "nan"]])
def test_other_numeric_segment_options_are_validated(tmp_path, option):
    model = tone_model(tmp_path / "m.onnx")
    sf.write(tmp_path / "r.wav", np.zeros(800, np.float32), 8000)
    run = _main("classify", model, tmp_path / "r.wav", "--segments", "--out", tmp_path / "t", *option)
    assert run.returncode == 2 and option[0] in run.stderr


def test_the_streaming_reader_gives_load_audio_s_reasons(tmp_path):  # D20
    from engine.audio.io import load_audio

    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    folder = tmp_path / "folder.wav"
    folder.mkdir()
    for path in (empty, folder, tmp_path / "missing.wav"):
        with pytest.raises(AudioLoadError) as streamed:
            LongAudio(path)
        with pytest.raises(AudioLoadError) as loaded:
            load_audio(path)
        assert str(streamed.value) == str(loaded.value)
    assert "the file is empty (0 bytes)" in str(streamed.value) or "no such file" in str(streamed.value)


def test_a_file_cut_short_while_streamed_is_noticed(tmp_path):  # D28
    path = tmp_path / "long.wav"
    sf.write(path, 0.1 * np.ones(8000 * 120, np.float32), 8000, subtype="PCM_16")
    with LongAudio(path) as audio:
        os.truncate(path, 44 + 2 * 8000 * 40)  # 40 s left of the 120 s the header states
        n = sum(len(block) for block in audio.blocks(block_s=10.0))
        assert audio.cut_short_at_s == pytest.approx(40.0)
    assert n == 8000 * 40


def test_segments_of_a_file_cut_short_keep_the_table_and_fail_the_run(tmp_path, monkeypatch):  # D28
    from engine.classify import recordings
    from engine.classify.segments import SegmentParams
    from engine.models.classifier import OnnxClassifier

    path = tmp_path / "long.wav"
    sf.write(path, np.tile(sine(300, 1.0, 8000), 120), 8000, subtype="PCM_16")
    real_blocks = LongAudio.blocks

    def cut_after_first(self, *args, **kwargs):
        os.truncate(self.path, 44 + 2 * 8000 * 40)
        return real_blocks(self, *args, **kwargs)

    monkeypatch.setattr(LongAudio, "blocks", cut_after_first)
    model = OnnxClassifier.load(tone_model(tmp_path / "m.onnx"))
    (result,) = recordings.segment_files(model, [path], tmp_path / "t", "csv", SegmentParams())
    assert result.error is not None and "ended at 40.0 s" in result.error and "120.0 s" in result.error
    assert (tmp_path / "t" / "long.csv").is_file()  # what was found is kept
