"""The log-mel frontend and the wrappers that make a waveform-in, probabilities-out model.

``LogMel`` turns a waveform batch into log-mel decibels the way librosa does
(``melspectrogram(center=True, pad_mode="constant", htk=False, norm="slaney")``
followed by ``power_to_db(ref=1.0, amin=1e-10, top_db=...)``, the top_db clamp taken
per example). ``Classifier`` resizes, standardises and replicates channels for a
backbone. ``WaveformModel`` chains both and a softmax: it is what gets exported to
ONNX (opset 17 exports ``torch.stft``), so training and inference share one graph.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

AMIN = 1e-10


def _hz_to_mel(freq_hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa ``htk=False``): linear below 1 kHz, logarithmic above."""
    freq_hz = np.asarray(freq_hz, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = freq_hz / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    log_region = freq_hz >= min_log_hz
    mels[log_region] = min_log_mel + np.log(freq_hz[log_region] / min_log_hz) / logstep
    return mels


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    mels = np.asarray(mels, dtype=np.float64)
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    log_region = mels >= min_log_mel
    freqs[log_region] = min_log_hz * np.exp(logstep * (mels[log_region] - min_log_mel))
    return freqs


def mel_filterbank(sample_rate_hz: int, n_fft: int, n_mels: int, f_min: float = 0.0,
                   f_max: float | None = None) -> np.ndarray:
    """Slaney-normalised triangular mel filters ``[n_mels, n_fft // 2 + 1]`` (as librosa.filters.mel)."""
    f_max = sample_rate_hz / 2.0 if f_max is None else float(f_max)
    fft_freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate_hz)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(np.array([f_min]))[0], _hz_to_mel(np.array([f_max]))[0],
                                   n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels])
    return (weights * enorm[:, None]).astype(np.float32)


class LogMel(nn.Module):
    """Waveform ``[b, n_samples]`` -> log-mel dB ``[b, 1, n_mels, frames]``."""

    def __init__(self, sample_rate_hz: int, n_fft: int = 1024, hop_length: int | None = None,
                 n_mels: int = 64, f_min: float = 0.0, f_max: float | None = None,
                 top_db: float | None = 80.0) -> None:
        super().__init__()
        if sample_rate_hz <= 0 or n_fft <= 1 or n_mels <= 0:
            raise ValueError(f"LogMel needs positive sample_rate_hz, n_fft > 1 and n_mels; got "
                             f"{sample_rate_hz}, {n_fft}, {n_mels}")
        f_max = sample_rate_hz / 2.0 if f_max is None else float(f_max)
        if not 0.0 <= f_min < f_max <= sample_rate_hz / 2.0:
            raise ValueError(f"LogMel needs 0 <= f_min < f_max <= {sample_rate_hz / 2} Hz; got {f_min}, {f_max}")
        self.sample_rate_hz = int(sample_rate_hz)
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length) if hop_length else self.n_fft // 4
        self.n_mels = int(n_mels)
        self.f_min = float(f_min)
        self.f_max = f_max
        self.top_db = None if top_db is None else float(top_db)
        self.register_buffer("window", torch.hann_window(self.n_fft, periodic=True), persistent=False)
        fb = mel_filterbank(self.sample_rate_hz, self.n_fft, self.n_mels, self.f_min, self.f_max)
        self.register_buffer("mel_fb", torch.from_numpy(fb), persistent=False)

    def config(self) -> dict:
        """The constructor arguments, for metadata and caches."""
        return {"sample_rate_hz": self.sample_rate_hz, "n_fft": self.n_fft, "hop_length": self.hop_length,
                "n_mels": self.n_mels, "f_min": self.f_min, "f_max": self.f_max, "top_db": self.top_db}

    def n_frames(self, n_samples: int) -> int:
        return n_samples // self.hop_length + 1

    def _power_spectrogram(self, waveform: torch.Tensor) -> torch.Tensor:
        kwargs = dict(n_fft=self.n_fft, hop_length=self.hop_length, win_length=self.n_fft, window=self.window,
                      center=True, pad_mode="constant", normalized=False, onesided=True)
        if torch.onnx.is_in_onnx_export():
            return self._dft_power_spectrogram(waveform)
        spec = torch.stft(waveform, return_complex=True, **kwargs)
        return spec.real.pow(2) + spec.imag.pow(2)

    def _dft_power_spectrogram(self, waveform: torch.Tensor) -> torch.Tensor:
        """The same power spectrogram as ``torch.stft``, in the form that is exported.

        ONNX Runtime's STFT kernel was the slowest part of the shipped model (63 % of its time,
        3.1 ms for 2 s at 16 kHz) and complex tensors do not export. Exported instead: a
        two-stage Cooley-Tukey DFT (n_fft = n1 * n2) as small real matmuls over frames cut
        with slices (1.5 ms), or, when n_fft or the hop do not allow it, a strided Conv1d over
        a windowed DFT basis (2.0-2.6 ms). Both match ``torch.stft`` within 1e-5 dB
        (tests/trainer/test_frontend.py).
        """
        n1 = _factor(self.n_fft)
        if n1 == 1 or self.n_fft % self.hop_length:
            return self._conv_dft_power(waveform)
        n, n2, hop = self.n_fft, self.n_fft // n1, self.hop_length
        x = F.pad(waveform, (n // 2, n // 2))                          # center=True, constant padding
        n_frames = (x.shape[-1] - n) // hop + 1
        blocks = x[:, : (n_frames + n // hop - 1) * hop].reshape(x.shape[0], -1, hop)
        frames = torch.cat([blocks[:, i : i + n_frames] for i in range(n // hop)], dim=-1) * self.window
        frames = frames.reshape(x.shape[0], n_frames, n1, n2)         # sample i * n2 + j
        c1, s1 = _twiddles(n1, n1, n1, x)
        tc, ts = _twiddles(n1, n2, n, x)
        c2, s2 = _twiddles(n2, n2, n2, x)
        ar, ai = torch.matmul(c1, frames), torch.matmul(s1, frames)  # DFT over i: [.., k1, j]
        br, bi = ar * tc - ai * ts, ar * ts + ai * tc                  # twiddle W_n^(j k1)
        yr = torch.matmul(br, c2) - torch.matmul(bi, s2)               # DFT over j: [.., k1, k2]
        yi = torch.matmul(br, s2) + torch.matmul(bi, c2)
        power = (yr.pow(2) + yi.pow(2)).transpose(-1, -2).reshape(x.shape[0], n_frames, n)  # bin k1 + n1 k2
        return power[..., : n // 2 + 1].transpose(1, 2)

    def _conv_dft_power(self, waveform: torch.Tensor) -> torch.Tensor:
        n_bins = self.n_fft // 2 + 1
        cos, sin = _twiddles(n_bins, self.n_fft, self.n_fft, waveform)
        basis = torch.cat([cos, sin]) * self.window
        pad = self.n_fft // 2
        frames = F.conv1d(F.pad(waveform[:, None, :], (pad, pad)), basis[:, None, :], stride=self.hop_length)
        return frames[:, :n_bins].pow(2) + frames[:, n_bins:].pow(2)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        # float32 throughout, even under mixed precision: mel power overflows float16.
        with torch.autocast(device_type=waveform.device.type, enabled=False):
            power = self._power_spectrogram(waveform.float())           # [b, freq, frames]
            mel = torch.matmul(self.mel_fb, power)                       # [b, n_mels, frames]
            db = 10.0 * torch.log10(torch.clamp(mel, min=AMIN))
            if self.top_db is not None:
                peak = db.amax(dim=(1, 2), keepdim=True)
                db = torch.maximum(db, peak - self.top_db)
        return db.unsqueeze(1)


def _factor(n: int) -> int:
    """The largest divisor of n not above its square root (1 for a prime)."""
    return next(d for d in range(int(math.isqrt(n)), 0, -1) if n % d == 0)


def _twiddles(rows: int, cols: int, size: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and -sin of 2 pi r c / size: the real and imaginary parts of W_size^(r c)."""
    angle = 2 * math.pi * torch.outer(torch.arange(rows, dtype=torch.float64),
                                      torch.arange(cols, dtype=torch.float64)) / size
    return (torch.cos(angle).to(like.dtype).to(like.device),
            (-torch.sin(angle)).to(like.dtype).to(like.device))


class Classifier(nn.Module):
    """Log-mel ``[b, 1, n_mels, frames]`` -> logits: resize, standardise, replicate, backbone."""

    def __init__(self, backbone: nn.Module, in_chans: int, input_size: tuple[int, int],
                 eps: float = 1e-5) -> None:
        super().__init__()
        height, width = (int(v) for v in input_size)
        if in_chans <= 0 or height <= 0 or width <= 0:
            raise ValueError(f"Classifier needs positive in_chans and input_size; got {in_chans}, {input_size}")
        self.backbone = backbone
        self.in_chans = int(in_chans)
        self.input_size = (height, width)
        self.eps = float(eps)

    def forward(self, logmel: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(logmel, size=self.input_size, mode="bilinear", align_corners=False)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        var = (x - mean).pow(2).mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        if self.in_chans != 1:
            x = x.expand(-1, self.in_chans, -1, -1)
        return self.backbone(x)


class WaveformModel(nn.Module):
    """Waveform ``[b, n_samples]`` -> class probabilities ``[b, n_classes]``: what is exported."""

    def __init__(self, frontend: LogMel, classifier: Classifier) -> None:
        super().__init__()
        self.frontend = frontend
        self.classifier = classifier

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.classifier(self.frontend(waveform)), dim=-1)
