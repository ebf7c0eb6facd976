"""Per-class thresholds: fitted by a stated rule, carried in a model's metadata, editable by the
person, and applied wherever a label is shown (classify and --json, Live, --segments)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.audio.long import LongAudio
from engine.classify.recordings import iter_segments
from engine.classify.segments import SegmentParams
from engine.errors import ModelLoadError
from engine.live.stream import NOTHING_LABEL, StreamingClassifier
from engine.models.classifier import OnnxClassifier
from engine.models.metadata import build_metadata
from engine.models.thresholds import RULE, Thresholds, fit, load_user_thresholds, save_user_thresholds
from tests.engine.onnx_fixtures import tone_model

ROOT = Path(__file__).resolve().parents[3]
SR = 8000


@pytest.fixture(autouse=True)
def own_thresholds_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("EARMARK_THRESHOLDS_DIR", str(tmp_path / "user-thresholds"))


def thresholded_model(path, per_class):
    meta = build_metadata(labels=["low", "high"], sample_rate_hz=SR, clip_s=0.5, architecture="tone-test",
                          thresholds={"rule": RULE, "fitted_on": "a test", "per_class": per_class})
    return tone_model(path, metadata=meta)


def tone(freq_hz, seconds=0.5, amplitude=0.3):
    t = np.arange(int(SR * seconds)) / SR
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def test_the_rule_takes_the_lowest_score_reaching_the_precision_else_the_best_f1():
    labels = ["a", "b"]
    # class a: answered at 0.95 (right), 0.9 (right), 0.8 (wrong), 0.7 (right): precision 0.9 first
    # reached at 0.9 (2/2) -- 0.7 gives 3/4 and 0.8 gives 2/3
    probs = np.array([[0.95, 0.05], [0.9, 0.1], [0.8, 0.2], [0.7, 0.3],
                      # class b: answered at 0.6 (wrong) and 0.55 (right): never 0.9 precise above 0.55
                      [0.4, 0.6], [0.45, 0.55], [0.3, 0.7]])
    truth = np.array([0, 0, 1, 0, 0, 1, 0])
    fitted = fit(probs, truth, labels, fitted_on="seven clips")
    assert fitted.per_class["a"] == pytest.approx(0.9)
    # b: at 0.55 precision 1/3, recall 1/2 (F1 0.4); at 0.6 precision 0/2; at 0.7 0/1; at 0 the same as 0.55
    assert fitted.per_class["b"] == pytest.approx(0.0)
    assert fitted.rule == RULE and fitted.fitted_on == "seven clips"
    precision, recall = fitted.implied("a", 0.85)        # a grid point: 0.95 and 0.9 shown, both right
    assert precision == pytest.approx(1.0) and recall == pytest.approx(2 / 5)   # five clips are truly a


def test_a_model_with_thresholds_answers_nothing_recognised_when_no_class_passes(tmp_path):
    model = OnnxClassifier.load(thresholded_model(tmp_path / "m.onnx", {"low": 0.999, "high": 0.5}))
    probs = model.classify(tone(300))
    assert model.meta.labels[int(np.argmax(probs))] == "low" and probs.max() < 0.999
    decision = model.decide(probs)
    assert decision.label is None and "low" in decision.reason and "under its threshold 1.00" in decision.reason
    assert model.decide(model.classify(tone(2000))).label == "high"


def test_classify_json_gives_a_null_label_and_says_why(tmp_path):
    model = thresholded_model(tmp_path / "m.onnx", {"low": 1.0, "high": 0.5})
    import soundfile as sf

    sf.write(tmp_path / "low.wav", tone(300, 1.0), SR)
    sf.write(tmp_path / "high.wav", tone(2000, 1.0), SR)
    run = subprocess.run([sys.executable, "main.py", "classify", str(model), str(tmp_path / "low.wav"),
                          str(tmp_path / "high.wav"), "--json"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "EARMARK_THRESHOLDS_DIR": str(tmp_path / "t")})
    assert run.returncode == 0, run.stderr
    low, high = json.loads(run.stdout)["results"]
    assert low["label"] is None and "nothing recognised" in low["reason"] and low["top"][0]["label"] == "low"
    assert high["label"] == "high" and "reason" not in high
    text = subprocess.run([sys.executable, "main.py", "classify", str(model), str(tmp_path / "low.wav")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "nothing recognised" in text.stdout


def test_a_model_without_thresholds_labels_as_before(tmp_path):
    model = OnnxClassifier.load(tone_model(tmp_path / "plain.onnx"))
    assert model.thresholds is None
    assert model.decide(model.classify(tone(300))).label == "low"
    stream = StreamingClassifier(model)
    assert stream.process(tone(300)).label == "low"


def test_the_live_stream_says_nothing_recognised(tmp_path):
    model = OnnxClassifier.load(thresholded_model(tmp_path / "m.onnx", {"low": 1.0}))
    stream = StreamingClassifier(model)
    result = stream.process(tone(300))
    assert result.label == NOTHING_LABEL and "under its threshold" in result.unrecognised
    assert StreamingClassifier(model).process(tone(2000)).label == "high"   # no threshold for high: it passes


def test_segments_leave_out_what_does_not_pass(tmp_path):
    import soundfile as sf

    audio = np.concatenate([tone(300, 3.0), tone(2000, 3.0)])
    sf.write(tmp_path / "rec.wav", audio, SR)
    params = SegmentParams(threshold=0.3)
    plain = OnnxClassifier.load(tone_model(tmp_path / "plain.onnx"))
    strict = OnnxClassifier.load(thresholded_model(tmp_path / "m.onnx", {"low": 1.0}))
    with LongAudio(tmp_path / "rec.wav") as long:
        before = [s.label for batch in iter_segments(plain, long, params) for s in batch]
        after = [s.label for batch in iter_segments(strict, long, params) for s in batch]
    assert "low" in before and "high" in before
    assert "low" not in after and "high" in after


def test_malformed_thresholds_refuse_the_model_naming_the_file(tmp_path):
    meta = {"labels": ["low", "high"], "sample_rate_hz": SR, "clip_s": 0.5, "format_version": 1,
            "architecture": "t", "thresholds": {"per_class": {"low": "very"}}}
    path = tone_model(tmp_path / "bad.onnx", metadata=meta)
    with pytest.raises(ModelLoadError, match=r"bad.onnx.*threshold of 'low'"):
        OnnxClassifier.load(path)
    meta["thresholds"] = {"per_class": {"owl": 0.5}}
    with pytest.raises(ModelLoadError, match="'owl', which is not one of the model's labels"):
        OnnxClassifier.load(tone_model(tmp_path / "bad2.onnx", metadata=meta))


def test_the_persons_thresholds_are_kept_outside_the_model_and_win(tmp_path):
    path = thresholded_model(tmp_path / "m.onnx", {"low": 0.5})
    before = path.read_bytes()
    model = OnnxClassifier.load(path)
    save_user_thresholds(path, model.thresholds.with_threshold("low", 1.0))
    assert path.read_bytes() == before                              # the model file is never written
    again = OnnxClassifier.load(path)
    assert again.thresholds.threshold("low") == 1.0 and again.decide(again.classify(tone(300))).label is None
    assert load_user_thresholds(path, ["low", "high"]).threshold("low") == 1.0


def test_a_damaged_user_file_is_named_and_the_models_own_thresholds_stay(tmp_path):
    from engine.models.thresholds import user_thresholds_path

    path = thresholded_model(tmp_path / "m.onnx", {"low": 0.5})
    damaged = user_thresholds_path(path)
    damaged.parent.mkdir(parents=True, exist_ok=True)
    damaged.write_text("[" * 100_000)
    model = OnnxClassifier.load(path)
    assert model.thresholds.threshold("low") == 0.5 and str(damaged) in model.thresholds_problem
    assert isinstance(Thresholds.from_json(model.thresholds.to_json(), ["low", "high"], "x"), Thresholds)
