"""Earmark's Qt views and background workers (PySide6 + pyqtgraph); never imports torch."""
