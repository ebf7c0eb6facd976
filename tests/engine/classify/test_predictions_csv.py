"""A recording's predictions as CSV (the File tab's export): labels a spreadsheet would run as formulas are escaped."""

import csv
import io

import numpy as np


def test_formula_like_labels_are_escaped_in_the_predictions_csv():
    from engine.classify.predictions import FilePredictions

    labels = ["=HYPERLINK(\"http://evil\")", "+1+1", "-2", "@SUM(A1)", "calm"]
    probs = np.array([[0.6, 0.1, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.1, 0.6]], np.float32)
    table = FilePredictions("m", labels, probs.mean(axis=0), np.array([0.0, 0.5]), probs, 1.0).to_csv()
    header, first, second = list(csv.reader(io.StringIO(table)))
    assert header[4:] == ["'" + label for label in labels[:4]] + ["calm"]
    assert first[2] == "'=HYPERLINK(\"http://evil\")" and second[2] == "calm"
    assert not any(cell.startswith(("=", "+", "@")) for row in (header, first, second) for cell in row)
