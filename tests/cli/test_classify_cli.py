import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.conftest import sine
from tests.engine.onnx_fixtures import tone_model

ROOT = Path(__file__).resolve().parents[2]


def run_main(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_classify_json_and_bad_files_do_not_stop_the_rest(tmp_path):
    model = tone_model(tmp_path / "m.onnx")
    low, high = tmp_path / "low.wav", tmp_path / "high.flac"
    sf.write(low, sine(300, 1.0, 16000), 16000)  # other rate: resampled to 8 kHz
    sf.write(high, np.stack([sine(2000, 0.5, 8000)] * 2, axis=1), 8000)  # stereo
    corrupt, empty, text = tmp_path / "corrupt.wav", tmp_path / "empty.wav", tmp_path / "notes.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunk")
    empty.write_bytes(b"")
    text.write_text("not audio at all " * 10)
    one = tmp_path / "one.wav"
    sf.write(one, np.zeros(1, np.float32), 8000)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(4000, np.float32), 8000)

    proc = run_main("classify", model, low, corrupt, high, empty, text, one, silent, "--json")
    assert proc.returncode == 1
    results = {Path(r["path"]).name: r for r in json.loads(proc.stdout)["results"]}
    assert results["low.wav"]["label"] == "low" and results["high.flac"]["label"] == "high"
    for name in ("corrupt.wav", "empty.wav", "notes.wav", "one.wav"):
        assert name in results[name]["error"]
        assert name in proc.stderr
    assert "silent" in results["silent.wav"]["warning"]
    assert "4 of 7 file(s) could not be classified" in proc.stderr


def test_classify_refuses_a_model_without_metadata(tmp_path):
    model = tone_model(tmp_path / "plain.onnx", metadata=None)
    wav = tmp_path / "a.wav"
    sf.write(wav, sine(300, 0.5, 8000), 8000)
    proc = run_main("classify", model, wav)
    assert proc.returncode == 2
    assert "plain.onnx" in proc.stderr and "no Earmark metadata" in proc.stderr


def test_synth_command(tmp_path):
    proc = run_main("synth", "--layout", "emodb", "--out", tmp_path / "d", "--speakers", "1",
                    "--seconds", "0.2", "--sample-rate", "8000")
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "d" / "wav").glob("*.wav"))) == 35
