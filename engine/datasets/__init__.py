"""Data sets: clips and manifests, label edits, data sets cut from regions, rankings, synthetic sets."""
