"""Window predictions merged into segments, and long files streamed through a model in blocks."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from engine.annotations.regions import PENDING, SUGGESTION
from engine.audio.long import LongAudio
from engine.classify.recordings import segment_file, stream_windows
from engine.classify.segments import SegmentMerger, SegmentParams, merge_windows
from engine.models.classifier import OnnxClassifier
from tests.conftest import sine
from tests.engine.onnx_fixtures import tone_model

LABELS = ["a", "b"]


def _probs(a, b):
    return np.stack([a, b], axis=1).astype(np.float64)


def test_windows_over_the_threshold_merge_into_segments_per_class():
    starts = np.arange(10) * 0.5  # 1 s windows every 0.5 s
    a = np.array([0.9, 0.8, 0.1, 0.1, 0.1, 0.95, 0.1, 0.1, 0.1, 0.1])
    b = np.array([0.1, 0.1, 0.1, 0.6, 0.7, 0.1, 0.1, 0.1, 0.1, 0.8])
    segs = merge_windows(starts, _probs(a, b), LABELS, 1.0, SegmentParams(threshold=0.5))
    assert [(s.label, s.start_s, s.end_s, s.confidence) for s in segs] == [
        ("a", 0.0, 1.5, 0.9), ("b", 1.5, 3.0, 0.7), ("a", 2.5, 3.5, 0.95), ("b", 4.5, 5.5, 0.8)]
    assert all(s.source == SUGGESTION and s.state == PENDING for s in segs)
    # a merge gap joins the two "a" segments, a minimum duration drops short ones
    segs = merge_windows(starts, _probs(a, b), LABELS, 1.0, SegmentParams(merge_gap_s=1.0, min_duration_s=1.5))
    assert [(s.label, s.start_s, s.end_s) for s in segs] == [("a", 0.0, 3.5), ("b", 1.5, 3.0)]
    # a per-class threshold
    segs = merge_windows(starts, _probs(a, b), LABELS, 1.0, SegmentParams(class_thresholds={"b": 0.75}))
    assert [(s.label, s.start_s) for s in segs] == [("a", 0.0), ("a", 2.5), ("b", 4.5)]
    segs = merge_windows(starts, _probs(a, b), LABELS, 1.0, SegmentParams(skip_labels=("a",)))
    assert [s.label for s in segs] == ["b", "b"]  # a skipped class (a background) is never suggested
    with pytest.raises(ValueError, match="unknown classes c"):
        merge_windows(starts, _probs(a, b), LABELS, 1.0, SegmentParams(class_thresholds={"c": 0.5}))


def test_the_merger_streams_the_same_segments_batch_by_batch():
    rng = np.random.default_rng(3)
    starts = np.arange(500) * 0.25
    probs = rng.uniform(size=(500, 2)) ** 3
    params = SegmentParams(threshold=0.3, merge_gap_s=0.5, min_duration_s=1.2)
    whole = merge_windows(starts, probs, LABELS, 1.0, params)
    merger = SegmentMerger(LABELS, 1.0, params)
    streamed = []
    for i in range(0, 500, 37):
        streamed += merger.push(starts[i:i + 37], probs[i:i + 37])
    streamed += merger.finish()
    key = lambda s: (s.start_s, s.label, s.end_s, s.confidence)  # noqa: E731
    assert sorted(map(key, streamed)) == sorted(map(key, whole)) and len(whole) > 5


@pytest.mark.parametrize(("seconds", "rate", "channels"), [(0.3, 8000, 1), (7.13, 8000, 2), (5.0, 22050, 1)])
def test_streamed_windows_match_the_models_own_windows(tmp_path, seconds, rate, channels):
    model = OnnxClassifier.load(tone_model(tmp_path / "m.onnx"))
    rng = np.random.default_rng(0)
    x = (0.3 * rng.standard_normal((int(seconds * rate), channels))).astype(np.float32)
    path = tmp_path / "x.wav"
    sf.write(path, x, rate, subtype="FLOAT")
    from engine.audio.io import load_audio

    whole = load_audio(path, model.meta.sample_rate_hz).samples
    expected_starts, expected_probs = model.windows(whole, hop_s=0.25)
    with LongAudio(path) as audio:
        audio_blocks = list(stream_windows(audio, model.meta.sample_rate_hz, model.meta.n_samples, 0.25, batch=5))
    starts = np.concatenate([s for s, _ in audio_blocks])
    probs = np.concatenate([model.predict(w) for _, w in audio_blocks])
    np.testing.assert_allclose(starts, expected_starts)
    np.testing.assert_allclose(probs, expected_probs, atol=2e-3)  # block-wise resampling: same up to edges


def test_a_file_becomes_a_table_of_segments_where_the_tones_are(tmp_path):
    model = OnnxClassifier.load(tone_model(tmp_path / "m.onnx"))
    sr = 8000
    x = np.zeros(10 * sr, dtype=np.float32)
    x[2 * sr:4 * sr] = sine(300, 2.0, sr)
    x[6 * sr:7 * sr] = sine(2000, 1.0, sr)
    x += 0.001 * np.random.default_rng(1).standard_normal(len(x)).astype(np.float32)
    sf.write(tmp_path / "rec.wav", x, sr)
    table = tmp_path / "out" / "rec.txt"
    result = segment_file(model, tmp_path / "rec.wav", table, "audacity", SegmentParams(threshold=0.9))
    rows = [line.split("\t") for line in table.read_text().splitlines()]
    got = [(label, float(start), float(end)) for start, end, label in rows]
    assert [g[0] for g in got] == ["low", "high"] and result.segments == 2
    (_, lo_start, lo_end), (_, hi_start, hi_end) = got
    assert 1.5 <= lo_start <= 2.0 and 4.0 <= lo_end <= 4.5
    assert 5.5 <= hi_start <= 6.0 and 7.0 <= hi_end <= 7.5
