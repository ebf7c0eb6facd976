"""Region files: Audacity label tracks, Raven selection tables and CSV read hand-written fixtures
(from each format's documentation) correctly, and what Earmark writes reads back exactly."""

from __future__ import annotations

import pytest

from engine.annotations.formats import (
    InterchangeError,
    audacity,
    detect_format,
    raven,
    read_regions,
    table,
    write_regions,
)
from engine.annotations.regions import PENDING, SUGGESTION, Region, RegionTrack

# Audacity manual, "Importing and Exporting Labels": start, end, label; the extended
# export adds "\<TAB>low<TAB>high" after a label; a point label has start == end.
AUDACITY_DOC = (
    "1.000000\t3.000000\tLabel 1\n"
    "\\\t100.000000\t2000.000000\n"
    "4.500000\t4.500000\tpoint\n"
    "\\\t-1.000000\t-1.000000\n"
    "6.250000\t7.125000\tlabel with spaces\n"
)

# Raven Pro manual: a selection table lists each selection once per view.
RAVEN_DOC = (
    "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tAnnotation\n"
    "1\tWaveform 1\t1\t1.063000\t2.345000\t0.000\t11025.000\tsong\n"
    "1\tSpectrogram 1\t1\t1.063000\t2.345000\t0.000\t11025.000\tsong\n"
    "2\tWaveform 1\t1\t3.500000\t3.900000\t2500.000\t6000.000\tcall\n"
    "2\tSpectrogram 1\t1\t3.500000\t3.900000\t2500.000\t6000.000\tcall\n"
)

# A multi-file table (Raven Pro "Begin File"), times running on across the files, plus
# BirdNET-Analyzer's columns (Common Name, Confidence, File Offset).
RAVEN_MULTI = (
    "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\t"
    "Common Name\tSpecies Code\tConfidence\tBegin File\tFile Offset (s)\n"
    "1\tSpectrogram 1\t1\t0.0\t3.0\t150\t12000\tHouse Sparrow\thouspa\t0.8712\tdawn.wav\t0.0\n"
    "2\tSpectrogram 1\t1\t63.0\t66.0\t150\t12000\tGreat Tit\tgretit1\t0.5\tdusk.WAV\t3.0\n"
    "3\tSpectrogram 1\t1\t6.0\t9.0\t150\t12000\tGreat Tit\tgretit1\t0.61\tdawn.wav\t6.0\n"
)


def _spans(regions):
    return [(r.start_s, r.end_s, r.label, r.low_hz, r.high_hz) for r in regions]


def test_an_audacity_label_track_from_the_manual_imports(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text(AUDACITY_DOC, encoding="utf-8")
    assert detect_format(path) == "audacity"
    assert _spans(read_regions(path)[None]) == [
        (1.0, 3.0, "Label 1", 100.0, 2000.0), (4.5, 4.5, "point", None, None), (6.25, 7.125, "label with spaces",
                                                                                None, None)]


def test_a_raven_table_is_read_once_per_selection_not_once_per_view(tmp_path):
    path = tmp_path / "rec.Table.1.selections.txt"
    path.write_text(RAVEN_DOC, encoding="utf-8")
    assert detect_format(path) == "raven"
    assert _spans(read_regions(path)[None]) == [(1.063, 2.345, "song", 0.0, 11025.0),
                                                (3.5, 3.9, "call", 2500.0, 6000.0)]


def test_a_multi_file_raven_table_splits_by_begin_file_with_times_within_each_file(tmp_path):
    path = tmp_path / "combined.txt"
    path.write_text(RAVEN_MULTI, encoding="utf-8")
    by_file = read_regions(path)
    assert sorted(by_file) == ["dawn.wav", "dusk.WAV"]
    assert _spans(by_file["dawn.wav"]) == [(0.0, 3.0, "House Sparrow", 150.0, 12000.0),
                                           (6.0, 9.0, "Great Tit", 150.0, 12000.0)]
    assert _spans(by_file["dusk.WAV"]) == [(3.0, 6.0, "Great Tit", 150.0, 12000.0)]
    assert [r.confidence for r in by_file["dawn.wav"]] == [0.8712, 0.61]


def test_a_plain_csv_with_only_times_and_labels_imports(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("start,end,label\n0.5,1.25,bird\n2,3,\n", encoding="utf-8")
    assert _spans(read_regions(path)[None]) == [(0.5, 1.25, "bird", None, None), (2.0, 3.0, "", None, None)]


REGIONS = [
    Region(0.1, 0.35, "bird", low_hz=1234.5, high_hz=8000.0),
    Region(1.0 / 3.0, 2.0 / 3.0, "frog"),  # times with no short decimal
    Region(5.0, 5.0, "point"),
    Region(7.25, 9.5, "two words", note="faint\tunder rain", confidence=0.25, source=SUGGESTION, state=PENDING),
]


@pytest.mark.parametrize("fmt", ["audacity", "raven", "csv"])
def test_what_earmark_writes_reads_back_exactly_and_rewrites_the_same_bytes(tmp_path, fmt):
    path = tmp_path / f"out.{fmt}.{'csv' if fmt == 'csv' else 'txt'}"
    write_regions(path, REGIONS, fmt)
    assert detect_format(path) == fmt
    back = read_regions(path)[None]
    assert _spans(back) == _spans(sorted(REGIONS, key=lambda r: r.start_s))
    if fmt != "audacity":  # Audacity has no place for notes or confidence
        note = "faint\tunder rain" if fmt == "csv" else "faint under rain"  # a tab-separated table has no tabs
        assert [(r.note, r.confidence) for r in back] == [("", None), ("", None), ("", None), (note, 0.25)]
    if fmt == "csv":
        assert [(r.source, r.state) for r in back][-1] == (SUGGESTION, PENDING)
    again = tmp_path / f"again.{fmt}"
    write_regions(again, back, fmt)
    assert again.read_bytes() == path.read_bytes()


def test_multi_file_tables_round_trip_exactly(tmp_path):
    by_file = {"a.wav": REGIONS[:2], "b.flac": REGIONS[2:]}
    for fmt, writer_module in (("raven", raven), ("csv", table)):
        path = tmp_path / f"multi.{fmt}"
        write_regions(path, by_file, fmt)
        back = read_regions(path, fmt)
        assert {k: _spans(v) for k, v in back.items()} == {k: _spans(v) for k, v in by_file.items()}
        assert writer_module.dumps(back) == path.read_text(encoding="utf-8")


def test_the_sidecar_itself_reads_as_a_label_file(tmp_path, write_wav):
    import numpy as np

    audio = write_wav("r.wav", np.zeros(800, dtype=np.float32), 8000)
    track = RegionTrack.open(audio)
    track.add(0.0, 0.05, "x")
    assert _spans(read_regions(track.path)["r.wav"]) == [(0.0, 0.05, "x", None, None)]


def test_bad_files_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("1.0\t2.0\tok\nabc\t3.0\tbad\n", encoding="utf-8")
    with pytest.raises(InterchangeError, match=r"bad.txt, line 2: start time 'abc'"):
        read_regions(path)
    path.write_text("\\\t1\t2\n", encoding="utf-8")
    with pytest.raises(InterchangeError, match="before any label"):
        read_regions(path)
    path.write_text("2.0\t1.0\tbackwards\n", encoding="utf-8")
    with pytest.raises(InterchangeError, match="line 1"):
        read_regions(path)
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text("label\nx\n", encoding="utf-8")
    with pytest.raises(InterchangeError, match="missing column start_s"):
        read_regions(csv_path)
    with pytest.raises(InterchangeError, match="one recording"):
        audacity.write(tmp_path / "x.txt", {"a": [], "b": []})


# A Sonic Visualiser region layer as SV saves it (File > Export Annotation Layer, .svl).
SONIC_DOC = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE sonic-visualiser>
<sv>
  <data>
    <model id="3" name="" sampleRate="48000" start="48000" end="240000" type="sparse" dimensions="3" resolution="1"
      notifyOnAdd="true" dataset="2" subtype="region" valueQuantization="0" minimum="1" maximum="1" units=""/>
    <dataset id="2" dimensions="3">
      <point frame="48000" value="1" duration="24000" label="wren" />
      <point frame="192000" value="1" duration="48000" label="" />
    </dataset>
  </data>
  <display>
    <layer id="4" type="regions" name="Regions" model="3" verticalScale="0" plotStyle="0" />
  </display>
</sv>
"""

# A Label Studio project's JSON export of an audio task with <Labels> on <Audio>.
LABEL_STUDIO_DOC = """[
  {
    "id": 12,
    "data": {"audio": "/data/upload/3/8f2d1c-dawn%20chorus.wav"},
    "annotations": [
      {"id": 7, "completed_by": 1, "result": [
        {"id": "wsA1", "type": "labels", "from_name": "label", "to_name": "audio", "origin": "manual",
         "value": {"start": 1.25, "end": 3.5, "channel": 0, "labels": ["Robin"]}},
        {"id": "wsA1", "type": "textarea", "from_name": "note", "to_name": "audio",
         "value": {"start": 1.25, "end": 3.5, "text": ["faint"]}}
      ]}
    ],
    "predictions": [
      {"model_version": "v1", "score": 0.7, "result": [
        {"id": "p1", "type": "labels", "from_name": "label", "to_name": "audio", "score": 0.82,
         "value": {"start": 6.0, "end": 7.0, "labels": ["Wren"]}}
      ]}
    ]
  }
]
"""


def test_a_sonic_visualiser_region_layer_imports(tmp_path):
    path = tmp_path / "regions.svl"
    path.write_text(SONIC_DOC, encoding="utf-8")
    assert detect_format(path) == "sonic"
    assert _spans(read_regions(path)[None]) == [(1.0, 1.5, "wren", None, None), (4.0, 5.0, "", None, None)]


def test_a_label_studio_export_imports_annotations_and_predictions(tmp_path):
    path = tmp_path / "project-3-at-2026.json"
    path.write_text(LABEL_STUDIO_DOC, encoding="utf-8")
    assert detect_format(path) == "labelstudio"
    by_file = read_regions(path)
    (regions,) = by_file.values()
    assert list(by_file) == ["8f2d1c-dawn chorus.wav"]
    assert _spans(regions) == [(1.25, 3.5, "Robin", None, None), (6.0, 7.0, "Wren", None, None)]
    assert (regions[1].source, regions[1].state, regions[1].confidence) == (SUGGESTION, PENDING, 0.82)


@pytest.mark.parametrize("fmt", ["sonic", "labelstudio"])
def test_optional_formats_round_trip(tmp_path, fmt):
    regions = [Region(0.5, 1.25, "a"), Region(2.0, 2.0, "b c")]  # times on whole samples at 48 kHz
    path = tmp_path / ("out.svl" if fmt == "sonic" else "out.json")
    write_regions(path, {"rec.wav": regions} if fmt == "labelstudio" else regions, fmt, sample_rate_hz=48000)
    back = next(iter(read_regions(path).values()))
    assert _spans(back) == _spans(regions)
    again = tmp_path / ("again" + path.suffix)
    write_regions(again, {"rec.wav": back} if fmt == "labelstudio" else back, fmt, sample_rate_hz=48000)
    assert again.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("fmt", ["audacity", "raven", "csv", "sonic", "labelstudio"])
def test_damaged_files_raise_a_named_error_never_anything_else(tmp_path, fmt):
    import numpy as np

    source = {"audacity": AUDACITY_DOC, "raven": RAVEN_MULTI, "csv": "start,end,label\n0.5,1.25,bird\n",
              "sonic": SONIC_DOC, "labelstudio": LABEL_STUDIO_DOC}[fmt].encode()
    rng = np.random.default_rng(11)
    path = tmp_path / "damaged"
    for _ in range(150):
        data = bytearray(source)
        for _ in range(int(rng.integers(1, 8))):  # flip, delete or insert a few bytes
            i = int(rng.integers(0, len(data)))
            kind = rng.integers(0, 3)
            if kind == 0:
                data[i] = int(rng.integers(0, 256))
            elif kind == 1:
                del data[i]
            else:
                data.insert(i, int(rng.choice(list(b"\t\n\\,.-e<>\"{}[]0123456789"))))
        data = data[: int(rng.integers(1, len(data) + 1))] if rng.random() < 0.3 else data
        path.write_bytes(bytes(data))
        try:
            regions = read_regions(path, fmt)
        except InterchangeError as exc:
            assert "damaged" in str(exc)
        else:
            assert all(0 <= r.start_s <= r.end_s for rs in regions.values() for r in rs)
