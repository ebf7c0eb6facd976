"""Calibration that helps or stays out of the way, on real clips with the shipped model: a speaker's
recordings with long pauses, silence or room noise calibrate no worse than none (only the voice is
pooled), and statistics implausibly far from the model's own are refused with the reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.models.calibration import CalibrationRefused
from engine.models.classifier import OnnxClassifier
from tests.helpers_calibration import SHIPPED_MODEL, correct, emodb_speaker, pause

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def model():
    return OnnxClassifier.load(SHIPPED_MODEL, sandbox=False, threads=1)


@pytest.mark.parametrize("level_dbfs", [None, -70.0], ids=["digital-silence", "room-noise"])
def test_pauses_between_a_speakers_utterances_do_not_spoil_the_calibration(model, level_dbfs):
    clips, labels = emodb_speaker("03")
    gap = pause(3.0, level_dbfs)
    recording = np.concatenate([np.r_[c, gap] for c in clips])       # 60 % of it pause (probe D4)
    uncalibrated = correct(model, clips, labels)
    stats, voiced_s = model.calibrate_voiced([recording])
    assert 70 < voiced_s < 110      # 49 clips of 2 s: their voice (with its 0.1 s hangover), not the pauses
    assert correct(model.calibrated(stats), clips, labels) >= uncalibrated
    moved = np.abs(stats - model.calibrate(clips)) / model.default_stats[1]   # in the model's deviations
    assert moved.max() < 0.25                           # about as if there were no pauses


def _classify(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "classify", *map(str, args), "--json"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


def _right(doc, labels) -> int:
    return sum(max(r["probs"], key=r["probs"].get) == y for r, y in zip(doc["results"], labels, strict=True))


def test_classify_calibrate_on_recordings_with_long_silences_scores_no_worse_than_uncalibrated(tmp_path):
    clips, labels = emodb_speaker("03", limit=30)
    files = []
    for i, clip in enumerate(clips):                 # each utterance, then 3 s of digital silence
        files.append(tmp_path / f"take{i:02d}.wav")
        sf.write(files[-1], np.r_[clip, pause(3.0, None)], 16000, subtype="FLOAT")
    plain = _classify(SHIPPED_MODEL, *files)
    calibrated = _classify(SHIPPED_MODEL, *files, "--calibrate")
    assert plain.returncode == 0 and calibrated.returncode == 0, calibrated.stderr
    doc = json.loads(calibrated.stdout)
    assert doc["calibrated"] == {"files": 30} and "under 20 s" not in calibrated.stderr   # ~60 s of voice
    assert _right(doc, labels) >= _right(json.loads(plain.stdout), labels)


def _tone(seconds: float = 30.0) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.3 * np.sin(2 * np.pi * 120 * t)).astype(np.float32)      # a mains hum, no voice


def test_an_implausible_calibration_is_refused_with_its_reason_and_the_model_stays_uncalibrated(model, tmp_path):
    with pytest.raises(CalibrationRefused, match="implausible for this model: its band"):
        model.calibrate([_tone()])
    assert model.calibration is None
    hum = tmp_path / "hum.wav"
    sf.write(hum, _tone(), 16000, subtype="FLOAT")
    plain, proc = _classify(SHIPPED_MODEL, hum), _classify(SHIPPED_MODEL, hum, "--calibrate")
    assert proc.returncode == 0, proc.stderr
    assert f"calibration to {hum} refused" in proc.stderr and "classifying uncalibrated" in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["calibrated"] is False and "implausible" in doc["calibration_refused"]
    assert doc["results"][0]["probs"] == json.loads(plain.stdout)["results"][0]["probs"]
