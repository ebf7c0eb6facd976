import csv
import io

import pytest

from engine.textsafe import csv_cell, printable


@pytest.mark.parametrize(("raw", "shown"), [
    ("plain name.wav", "plain name.wav"),
    ("two\nlines", "two\\nlines"),
    ("tab\there", "tab\\there"),
    ("\x1b[2Jclear", "\\x1b[2Jclear"),
    ("car\rriage", "car\\rriage"),
    ("nul\x00", "nul\\x00"),
    ("\u202eevil", "\\u202eevil"),
    ("bad\udcffbyte", "bad\\udcffbyte"),  # a non-UTF-8 file name byte (surrogate escape)
    ("back\\slash\n", "back\\\\slash\\n"),
    ("émotion 怒り", "émotion 怒り"),
])
def test_printable_keeps_one_line_and_shows_what_was_there(raw, shown):
    assert printable(raw) == shown
    assert printable(raw).isprintable()


@pytest.mark.parametrize("label", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_like_cells_are_escaped(label):
    out = io.StringIO()
    csv.writer(out).writerow([csv_cell(label), csv_cell(0.5)])
    cell, number = next(csv.reader(io.StringIO(out.getvalue())))
    assert cell.startswith("'") and number == "0.5"


def test_ordinary_cells_are_unchanged():
    assert csv_cell("anger") == "anger" and csv_cell(3) == 3 and csv_cell("a-b") == "a-b"
