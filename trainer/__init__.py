"""Earmark's training side (needs torch): frontend, models, splits, training loop, ONNX export."""
