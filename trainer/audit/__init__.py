"""Ranking a data set's labels by how suspect they are (cleanlab on out-of-fold probabilities)."""
