"""Earmark's runtime core: audio I/O, data set manifests, ONNX models, live streams.

Free of Qt and torch by contract (see pyproject's import-linter contracts), so the
app that only classifies installs small.
"""

__version__ = "0.1.0"
