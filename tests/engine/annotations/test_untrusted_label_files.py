"""Untrusted structured files end in Earmark's own errors, naming the file, and lose nothing
(issue 25: D5, D6, D7, D8, D9, D11, D23, D24, D25)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from engine.annotations.formats import InterchangeError, read_regions, write_regions
from engine.annotations.regions import Region, RegionError, RegionTrack, sidecar_path

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def audio(write_wav):
    return write_wav("rec.wav", np.zeros(1600, np.float32), 8000)


def test_deeply_nested_label_studio_json_is_an_interchange_error(tmp_path):  # D5
    path = tmp_path / "d.json"
    path.write_text(DEEP)
    with pytest.raises(InterchangeError, match="d.json"):
        read_regions(path)


@pytest.mark.parametrize("doc", [DEEP, json.dumps({"format": "earmark-regions", "version": 1, "regions": [
    {"start_s": 1, "end_s": 2, "label": "a", "id": ["x"]}]}), json.dumps({"format": "earmark-regions", "version": 1,
                                                                           "regions": [[1, 2]]})])
def test_damaged_sidecars_are_region_errors_naming_the_file(audio, doc):  # D6
    sidecar_path(audio).write_text(doc)
    with pytest.raises(RegionError, match="rec.wav.earmark-regions.json"):
        RegionTrack.open(audio)
    assert sidecar_path(audio).read_text() == doc  # left as it was


@pytest.mark.parametrize("model, point", [('sampleRate="0"', 'frame="16000" duration="16000"'),
                                          ('sampleRate="16000"', f'frame="1{"0" * 400}" duration="16000"'),
                                          ('sampleRate="inf"', 'frame="16000" duration="16000"')])
def test_sonic_visualiser_layers_with_absurd_numbers_are_refused(tmp_path, model, point):  # D7
    path = tmp_path / "x.svl"
    path.write_text(f'<?xml version="1.0"?><sv><data><model id="1" {model}/><dataset id="1">'
                    f'<point {point} label="bird"/></dataset></data></sv>')
    with pytest.raises(InterchangeError, match="x.svl"):
        read_regions(path)


def test_a_nested_ranking_cache_file_is_ignored_with_a_log_line(tmp_path, caplog):  # D8
    from engine.datasets import rankings

    path = rankings.path_for("k" * 64, tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(DEEP)
    with caplog.at_level(logging.WARNING):
        assert rankings.load("k" * 64, tmp_path) is None
    assert "Ignoring" in caplog.text


def test_the_ranking_key_changes_with_groups_and_with_replaced_audio(write_wav, tmp_path):  # D9
    import shutil

    from engine.datasets.manifest import read_manifest
    from engine.datasets.rankings import content_key

    for name in ("a", "b", "c", "d"):
        write_wav(f"ds/{name}.wav", np.full(800, 0.1, np.float32), 8000)
    csv = tmp_path / "ds" / "data.csv"
    csv.write_text("path,label,group\na.wav,x,g1\nb.wav,y,g1\nc.wav,x,g2\nd.wav,y,g2\n")
    k1 = content_key(read_manifest(csv, "csv"))
    csv.write_text("path,label,group\na.wav,x,g1\nb.wav,y,g2\nc.wav,x,g1\nd.wav,y,g2\n")
    k2 = content_key(read_manifest(csv, "csv"))
    assert k1 != k2
    other = write_wav("other.wav", np.full(800, -0.1, np.float32), 8000)  # same size
    shutil.copy2(other, tmp_path / "ds" / "a.wav")  # contents replaced, mtime carried over (cp -p)
    import os
    st = (tmp_path / "ds" / "b.wav").stat()
    os.utime(tmp_path / "ds" / "a.wav", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert content_key(read_manifest(csv, "csv")) != k2


def test_raven_rows_with_a_repeated_selection_number_but_other_times_are_all_kept(tmp_path):  # D11
    path = tmp_path / "t.selections.txt"
    rows = ["Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tAnnotation"]
    rows += [f"{sel}\tSpectrogram 1\t1\t{b}\t{e}\tx" for sel, b, e in ((1, 1, 2), (2, 3, 4), (1, 10, 11), (2, 12, 13))]
    rows += ["1\tWaveform 1\t1\t1\t2\tx"]  # the same selection in another view: once
    path.write_text("\n".join(rows) + "\n")
    assert sorted(r.start_s for r in read_regions(path)[None]) == [1, 3, 10, 12]


@pytest.mark.parametrize("fmt, name", [("csv", "x.csv"), ("raven", "x.selections.txt")])
def test_formula_labels_are_escaped_in_exports_and_read_back_exactly(tmp_path, fmt, name):  # D23
    regions = [Region(1, 2, "=cmd|' /C calc'!A0", note="@SUM(A1)"), Region(3, 4, "'quoted"), Region(5, 6, "-5")]
    path = write_regions(tmp_path / name, regions, fmt)
    text = path.read_text()
    assert "'=cmd" in text and "'@SUM" in text and "\t=cmd" not in text and ",=cmd" not in text
    back = sorted(read_regions(path)[None], key=lambda r: r.start_s)
    assert [(r.label, r.note) for r in back] == [(r.label, r.note) for r in regions]


@pytest.mark.parametrize("value, problem", [({"start": 1, "end": 2, "labels": "bird"}, "labels"),
                                            ({"start": False, "end": True, "labels": ["bird"]}, "start"),
                                            ({"start": 1, "end": 2, "labels": [["bird"]]}, "labels")])
def test_label_studio_values_are_type_checked(tmp_path, value, problem):  # D24
    path = tmp_path / "x.json"
    path.write_text(json.dumps([{"data": {"audio": "rec.wav"},
                                 "annotations": [{"result": [{"type": "labels", "value": value}]}]}]))
    with pytest.raises(InterchangeError, match=problem):
        read_regions(path)


def test_a_label_studio_nan_score_is_refused_and_never_saved(tmp_path, audio):  # D24
    path = tmp_path / "x.json"
    path.write_text('[{"data": {"audio": "rec.wav"}, "predictions": [{"result": [{"type": "labels", '
                    '"score": NaN, "value": {"start": 1, "end": 2, "labels": ["bird"]}}]}]}]')
    with pytest.raises(InterchangeError, match="score"):
        read_regions(path)


def test_audacity_labels_with_unicode_line_separators_stay_on_their_line(tmp_path):  # D25
    path = tmp_path / "a.txt"
    path.write_bytes("1\t2\tbird\u0085call\n3\t4\towl\u2028hoot\r\n".encode())
    assert [r.label for r in read_regions(path)[None]] == ["bird\u0085call", "owl\u2028hoot"]


def test_a_raven_export_with_the_display_band_reads_back_band_less(tmp_path):  # D26
    regions = [Region(1, 2.5, "bird"), Region(3, 4, "frog", low_hz=200.0, high_hz=900.0)]
    path = write_regions(tmp_path / "x.selections.txt", regions, "raven", max_freq_hz=8000.0)
    assert "\t8000.000000\t" in path.read_text()  # Raven still draws the band-less one over the whole band
    back = sorted(read_regions(path)[None], key=lambda r: r.start_s)
    assert [(r.label, r.low_hz, r.high_hz) for r in back] == [("bird", None, None), ("frog", 200.0, 900.0)]
