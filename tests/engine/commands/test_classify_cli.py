import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.conftest import sine
from tests.engine.onnx_fixtures import tone_model

ROOT = Path(__file__).resolve().parents[3]


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


# ---- outputs that are not probabilities, labels and names that would break the output --------

import math  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402

import pytest  # noqa: E402

from tests.helpers_onnx import (  # noqa: E402
    nan_when_loud_proto,
    slow_model_proto,
    tone_model_proto,
    tone_tail_proto,
    with_labels,
    write_proto,
)


def _strict_json(text):
    """json.loads that refuses NaN/Infinity (which Python's json would accept)."""
    def refuse(name):
        raise ValueError(f"bare {name} in the JSON output")
    return json.loads(text, parse_constant=refuse)


def test_nan_on_real_sound_is_refused_per_file_and_json_stays_valid(tmp_path):
    model = write_proto(nan_when_loud_proto(), tmp_path / "nan.onnx")
    quiet, loud = tmp_path / "quiet.wav", tmp_path / "loud.wav"
    sf.write(quiet, sine(300, 0.2, 8000, amplitude=0.3), 8000)
    sf.write(loud, sine(300, 0.2, 8000, amplitude=0.9), 8000)
    proc = run_main("classify", model, quiet, loud, "--json")
    assert proc.returncode == 1
    results = {Path(r["path"]).name: r for r in _strict_json(proc.stdout)["results"]}
    assert results["quiet.wav"]["label"] == "tone_300hz"
    assert "NaN" in results["loud.wav"]["error"] and "loud.wav" in results["loud.wav"]["error"]
    assert "label" not in results["loud.wav"] and "probs" not in results["loud.wav"]
    text = run_main("classify", model, quiet, loud)
    assert "loud.wav" not in text.stdout and "loud.wav" in text.stderr and " nan" not in text.stdout


@pytest.mark.parametrize(("tail", "pattern"), [("Identity", r"not probabilities in \[0, 1\]"),
                                               ("Sigmoid", "sum to")], ids=["logits", "sigmoid"])
def test_scores_that_are_not_probabilities_are_refused(tmp_path, tail, pattern):
    model = write_proto(tone_tail_proto(tail, sample_rate_hz=8000, clip_s=0.1), tmp_path / f"{tail}.onnx")
    wav = tmp_path / "a.wav"
    sf.write(wav, sine(300, 0.2, 8000), 8000)
    proc = run_main("classify", model, wav)
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"{tail}.onnx" in proc.stderr
    import re
    assert re.search(pattern, proc.stderr), proc.stderr


@pytest.mark.parametrize("bad", ["\x1b[31mred", "car\rriage", "nul\x00", "\u202eevil"],
                         ids=["ESC", "CR", "NUL", "RLO"])
def test_labels_with_control_characters_never_reach_the_terminal(tmp_path, bad):
    model = write_proto(with_labels(tone_model_proto(sample_rate_hz=8000, clip_s=0.1), [bad, "b", "c", "d", "e"]),
                        tmp_path / "ctl.onnx")
    wav = tmp_path / "a.wav"
    sf.write(wav, sine(300, 0.2, 8000), 8000)
    proc = run_main("classify", model, wav)
    assert proc.returncode == 2 and "control character" in proc.stderr and "ctl.onnx" in proc.stderr
    assert bad not in proc.stdout + proc.stderr


def test_newlines_and_tabs_in_file_names_do_not_break_the_text_output(tmp_path):
    model = tone_model(tmp_path / "m.onnx")
    names = ["two\nlines.wav", "tab\there.wav", "plain.wav", "esc\x1b[2J.wav"]
    for name in names:
        sf.write(tmp_path / name, sine(300, 0.5, 8000), 8000)
    proc = run_main("classify", model, *(tmp_path / n for n in names))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 4 and all(line.count("\t") == 1 for line in lines)
    assert "two\\nlines.wav\tlow" in proc.stdout and "tab\\there.wav\tlow" in proc.stdout
    assert "\x1b" not in proc.stdout and "esc\\x1b[2J.wav" in proc.stdout
    doc = _strict_json(run_main("classify", model, *(tmp_path / n for n in names), "--json").stdout)
    assert sorted(Path(r["path"]).name for r in doc["results"]) == sorted(names)


def test_constant_and_dc_signals_are_not_labelled(tmp_path):
    model = tone_model(tmp_path / "m.onnx")
    dc, zeros, tone = tmp_path / "dc.wav", tmp_path / "zeros.wav", tmp_path / "tone.wav"
    sf.write(dc, np.full(8000, 0.5, np.float32), 8000)
    sf.write(zeros, np.zeros(8000, np.float32), 8000)
    sf.write(tone, sine(2000, 1.0, 8000) + 0.3, 8000)  # a tone on a DC offset is still a tone
    proc = run_main("classify", model, dc, zeros, tone, "--json")
    assert proc.returncode == 0, proc.stderr
    results = {Path(r["path"]).name: r for r in _strict_json(proc.stdout)["results"]}
    assert results["dc.wav"]["label"] is None and "constant level" in results["dc.wav"]["warning"]
    assert results["zeros.wav"]["label"] is None and "silent" in results["zeros.wav"]["warning"]
    assert results["tone.wav"]["label"] == "high"
    text = run_main("classify", model, dc).stdout
    assert "no label" in text and "low" not in text and "high" not in text


def test_folders_are_searched_recursively_skipping_hidden_and_appledouble_files(tmp_path):
    model = tone_model(tmp_path / "m.onnx")
    data = tmp_path / "data"
    files = {"a.wav": "WAV", "sub/b.flac": "FLAC", "sub/deeper/c.ogg": "OGG", "sub/D.AIFF": "AIFF"}
    for name, fmt in files.items():
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(data / name, sine(300, 0.5, 8000), 8000, format=fmt)
    sf.write(data / ".hidden.wav", sine(300, 0.5, 8000), 8000)
    (data / ".git").mkdir()
    sf.write(data / ".git" / "x.wav", sine(300, 0.5, 8000), 8000)
    (data / "sub" / "._b.flac").write_bytes(b"\x00\x05\x16\x07AppleDouble junk")
    (data / "notes.txt").write_text("not audio")
    proc = run_main("classify", model, data, "--json")
    assert proc.returncode == 0, proc.stderr
    found = sorted(os.path.relpath(r["path"], data) for r in _strict_json(proc.stdout)["results"])
    assert found == sorted(files)
    assert "AppleDouble" not in proc.stderr and "hidden" not in proc.stderr


# ---- streaming, | head and Ctrl-C ---------------------------------------------------------------

def _slow_setup(tmp_path, long_s):
    """A model that passes vetting but takes ~0.05 s a batch, a quick file and a long one."""
    model = write_proto(slow_model_proto(n=384, steps=12), tmp_path / "slow.onnx")
    quick, long = tmp_path / "quick.wav", tmp_path / "long.wav"
    sf.write(quick, sine(300, 0.05, 8000), 8000)
    sf.write(long, sine(300, long_s, 8000), 8000)
    return model, quick, long


def _popen(*args):
    return subprocess.Popen([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_results_stream_and_ctrl_c_keeps_them_without_a_traceback(tmp_path, as_json):
    model, quick, long = _slow_setup(tmp_path, long_s=1800.0)  # minutes of work after the first file
    proc = _popen("classify", model, quick, long, *(["--json"] if as_json else []))
    try:
        first = proc.stdout.readline()
        if as_json:
            first += proc.stdout.readline()  # the header line, then quick.wav's
        assert "quick.wav" in first, first + proc.stderr.read()
        assert proc.poll() is None  # the first result arrived while the long file was still running
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and "interrupted" in err
    if as_json:
        doc = _strict_json(first + rest)
        assert doc["interrupted"] is True and [Path(r["path"]).name for r in doc["results"]] == ["quick.wav"]
    else:
        assert (first + rest).splitlines()[0].startswith(str(quick) + "\t")


def test_a_closed_pipe_ends_classify_quietly(tmp_path):
    model, quick, long = _slow_setup(tmp_path, long_s=20.0)  # a second or more per long file
    proc = _popen("classify", model, quick, long, long, long)
    try:
        assert "quick.wav" in proc.stdout.readline()
        proc.stdout.close()  # what `| head -n 1` does after its line
        err = proc.stderr.read()
        proc.wait(timeout=120)
    finally:
        proc.kill()
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode == 141


def test_json_never_holds_nan_even_for_a_lone_result(tmp_path):
    model = tone_model(tmp_path / "m.onnx")
    wav = tmp_path / "a.wav"
    sf.write(wav, sine(300, 0.5, 8000), 8000)
    doc = _strict_json(run_main("classify", model, wav, "--json").stdout)
    assert doc["interrupted"] is False and all(math.isfinite(p) for p in doc["results"][0]["probs"].values())
