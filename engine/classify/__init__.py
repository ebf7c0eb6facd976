"""Applying a model to files and long recordings: labels, windows and segments."""
