"""Audio in and out: reading files (whole or on demand), resampling, the display spectrogram."""
