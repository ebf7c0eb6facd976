"""``TrainConfig``: the name the trainer has always used for :class:`trainer.recipe.TrainRequest`.

The request (every setting and its default) lives in :mod:`trainer.recipe`, torch-free, so
the command line, the wizard and scripts share one definition.
"""

from __future__ import annotations

from trainer.recipe import (  # noqa: F401  (re-exported)
    DEFAULT_SAMPLE_RATE_HZ,
    IMAGENET_INPUT_SIZE,
    MAX_WINDOW_S,
    TrainRequest,
    _probe_clips,
)

TrainConfig = TrainRequest
