"""From a manifest to training tensors: splits, the feature cache, preparation, speaker statistics."""
