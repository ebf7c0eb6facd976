"""Small reusable widgets: level meter, label bars, waveform and spectrogram plots."""
