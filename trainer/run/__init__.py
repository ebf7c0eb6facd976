"""A training run: the job, its loop, cross-validation, evaluation, metrics, outputs and export."""
