"""The annotation view for recordings of any length: range worker, time plots, region lanes."""
