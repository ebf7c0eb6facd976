"""Praat TextGrids: Praat's own long and short text files (written by hand from the format's
description in the Praat manual, "TextGrid file formats") read correctly, and what Earmark writes
reads back exactly and rewrites byte for byte, in both formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.annotations.formats import InterchangeError, detect_format, read_regions, textgrid, write_regions
from engine.annotations.regions import Region

FIXTURES = Path(__file__).parent / "fixtures"
PRAAT = [(1.8, 1.8, "ding", "tier: bell"), (0.0, 1.1, 'he said "hi"', "tier: John"),
         (0.7, 1.25, "hello", "tier: Mary")]


def _spans(regions):
    return sorted((r.start_s, r.end_s, r.label, r.note) for r in regions)


@pytest.mark.parametrize("name", ["praat_long.TextGrid", "praat_short.TextGrid"])
def test_praats_own_long_and_short_files_import(name):
    path = FIXTURES / name
    assert detect_format(path) == "textgrid"
    assert _spans(read_regions(path)[None]) == sorted(PRAAT)   # empty intervals are gaps, not regions


def test_a_utf16_textgrid_as_praat_saves_non_ascii_text_imports(tmp_path):
    text = (FIXTURES / "praat_long.TextGrid").read_text(encoding="utf-8").replace('"hello"', '"café ☕"')
    path = tmp_path / "unicode.TextGrid"
    path.write_text(text, encoding="utf-16")   # with a byte order mark, as Praat writes it
    labels = {r.label for r in read_regions(path)[None]}
    assert "café ☕" in labels
    renamed = tmp_path / "unicode.txt"            # found by its content, whatever its name
    renamed.write_bytes(path.read_bytes())
    assert detect_format(renamed) == "textgrid"


REGIONS = [Region(0.1, 0.30000000000000004, "a"), Region(0.2, 0.9, "overlapping b"),
           Region(1.063, 2.345, 'say "hi"'), Region(2.5, 2.5, "click"), Region(3.0, 4.0, "c", low_hz=100.0,
                                                                             high_hz=900.0, note="kept out")]


@pytest.mark.parametrize("short", [False, True])
def test_what_earmark_writes_reads_back_exactly_and_rewrites_byte_for_byte(tmp_path, short):
    first = tmp_path / "first.TextGrid"
    write_regions(first, REGIONS, "textgrid", duration_s=5.0, short=short)
    back = read_regions(first)[None]
    assert [(r.start_s, r.end_s, r.label) for r in back] == [(r.start_s, r.end_s, r.label) for r in REGIONS]
    assert all(r.note == "" for r in back)   # Earmark's own tiers leave no note
    second = tmp_path / "second.TextGrid"
    write_regions(second, back, "textgrid", duration_s=5.0, short=short)
    assert second.read_bytes() == first.read_bytes()
    lines = first.read_text().splitlines()
    assert '"labels 2"' in "\n".join(lines) or 'name = "labels 2" ' in lines   # overlaps: on a second tier
    assert lines[4].strip() == ("5" if short else "xmax = 5")                  # over the whole recording


def test_a_damaged_textgrid_is_refused_by_name(tmp_path):
    path = tmp_path / "broken.TextGrid"
    path.write_text('File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = \n')
    with pytest.raises(InterchangeError, match="broken.TextGrid"):
        read_regions(path)
    assert textgrid.looks_like_textgrid(path.read_text())
