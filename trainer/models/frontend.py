"""The log-mel frontend and the wrappers that make a waveform-in, probabilities-out model.

``LogMel`` turns a waveform batch into log-mel decibels the way librosa does
(``melspectrogram(center=True, pad_mode="constant", htk=False, norm="slaney")``
followed by ``power_to_db(ref=1.0, amin=1e-10, top_db=...)``, the top_db clamp taken
per example). ``Classifier`` resizes, standardises and replicates channels for a
backbone. ``WaveformModel`` chains both and a softmax: it is what gets exported to
ONNX (the STFT as constant matmuls, see ``LogMel._exported_mel_power``), so training and
inference share one graph. ``ExportedModel`` is how it is exported: the probabilities, the band
moments of a band-normalised model, and the ``embedding`` (the input of the backbone's last
linear layer: the pooled features before the classifier, docs/MODELS.md).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.audio.mel import mel_filterbank

AMIN = 1e-10


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

    def n_frames(self, n_samples: int) -> int:
        return n_samples // self.hop_length + 1

    def _power_spectrogram(self, waveform: torch.Tensor) -> torch.Tensor:
        """``|STFT|^2`` ``[b, n_fft // 2 + 1, frames]`` (torch.stft: centred, constant padding)."""
        spec = torch.stft(waveform, n_fft=self.n_fft, hop_length=self.hop_length, win_length=self.n_fft,
                          window=self.window, center=True, pad_mode="constant", normalized=False,
                          onesided=True, return_complex=True)
        return spec.real.pow(2) + spec.imag.pow(2)

    def _mel_power(self, waveform: torch.Tensor) -> torch.Tensor:
        """Mel power ``[b, n_mels, frames]``: torch.stft when running, matmuls when exported."""
        if torch.onnx.is_in_onnx_export():
            return self._exported_mel_power(waveform)
        return torch.matmul(self.mel_fb, self._power_spectrogram(waveform))

    def _exported_mel_power(self, waveform: torch.Tensor) -> torch.Tensor:
        """The same mel power as ``_mel_power``, in the form that is exported to ONNX.

        ONNX Runtime's STFT and DFT kernels are slow (STFT was 63 % of the shipped model's time,
        3.1 ms for 2 s at 16 kHz; DFT takes 4-5 ms) and complex tensors do not export. Exported
        instead: a two-stage Cooley-Tukey DFT (n_fft = n1 * n2) as three matmuls with constant
        matrices, and no elementwise complex arithmetic:

        1. frames are cut with the fine index j outermost ([b, j, frame, i], sample i * n2 + j:
           one transpose of the padded waveform, then slices), so that the window, the DFT over
           i and the twiddle factors W_n^(j k1) fold into one constant [2, j, i, k1] per j;
        2. the DFT over j is one matmul with a real [[cos, -sin], [sin, cos]] block matrix,
           only for the k2 <= n2 / 2 that reach bins up to n_fft / 2;
        3. |.|^2, and the mel filterbank with its columns laid out like bin k1 + n1 k2.

        Measured on 2 cores (batch 1, 2 s at 16 kHz): 1.3 ms against 2.0 ms for the previous
        form (twiddles as elementwise ops and a transpose of the power spectrogram). When the
        hop does not divide n_fft, or n_fft and the hop share no factor, a strided Conv1d over
        a windowed DFT basis is exported instead. Both match ``torch.stft`` within 1e-5 dB
        (tests/trainer/models/test_frontend.py).
        """
        factors = _dft_factors(self.n_fft, self.hop_length)
        if factors is None:
            return torch.matmul(self.mel_fb, self._conv_dft_power(waveform))
        n1, n2 = factors
        n, hop, k2n = self.n_fft, self.hop_length, n2 // 2 + 1
        stage1, stage2, mel_rows = (torch.from_numpy(c).to(waveform.device) for c in self._dft_constants(n1, n2))
        x = F.pad(waveform, (n // 2, n // 2))                          # center=True, constant padding
        n_frames = (x.shape[-1] - n) // hop + 1
        shifts, rows = n // hop, hop // n2
        n_rows = (n_frames + shifts - 1) * rows
        columns = x[:, : n_rows * n2].reshape(-1, n_rows, n2).transpose(1, 2)   # [b, j, row]: sample row * n2 + j
        blocks = columns.reshape(-1, n2, n_frames + shifts - 1, rows)
        frames = torch.cat([blocks[:, :, q : q + n_frames] for q in range(shifts)], dim=-1)  # [b, j, frame, i]
        a = torch.matmul(frames.unsqueeze(1), stage1)                  # [b, re/im, j, frame, k1]
        y = torch.matmul(stage2, a.reshape(-1, 2 * n2, n_frames * n1))  # [b, (re/im, k2), frame * k1]
        y = y * y
        power = (y[:, :k2n] + y[:, k2n:]).reshape(-1, k2n, n_frames, n1)  # bin k1 + n1 k2
        power = power.transpose(1, 2).reshape(-1, n_frames, k2n * n1)
        return torch.matmul(power, mel_rows).transpose(1, 2)

    def _dft_constants(self, n1: int, n2: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The three constant matrices of ``_exported_mel_power`` (float64 math, float32 out)."""
        n, k2n = self.n_fft, n2 // 2 + 1
        i, j, k1 = np.arange(n1)[:, None], np.arange(n2)[:, None, None], np.arange(n1)[None, :]
        angle = 2 * np.pi * (i * k1 / n1 + j * k1 / n)                  # DFT over i, then W_n^(j k1)
        window = self.window.detach().cpu().double().numpy().reshape(n1, n2).T   # [j, i]: w[i * n2 + j]
        stage1 = np.stack([np.cos(angle), -np.sin(angle)]) * window[None, :, :, None]  # [2, j, i, k1]
        angle2 = 2 * np.pi * np.arange(k2n)[:, None] * np.arange(n2)[None, :] / n2     # [k2, j]
        cos2, sin2 = np.cos(angle2), -np.sin(angle2)
        stage2 = np.block([[cos2, -sin2], [sin2, cos2]])                # [(re/im, k2), (re/im, j)]
        bins = np.arange(n1)[None, :] + n1 * np.arange(k2n)[:, None]    # [k2, k1] -> bin
        fb = self.mel_fb.detach().cpu().double().numpy().T               # [bins, mels]
        mel_rows = np.where((bins <= n // 2)[..., None], fb[np.minimum(bins, n // 2)], 0.0)
        return tuple(np.ascontiguousarray(c, dtype=np.float32)
                     for c in (stage1, stage2, mel_rows.reshape(k2n * n1, -1)))

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
            mel = self._mel_power(waveform.float())                      # [b, n_mels, frames]
            db = 10.0 * torch.log10(torch.clamp(mel, min=AMIN))
            if self.top_db is not None:
                peak = db.amax(dim=(1, 2), keepdim=True)
                db = torch.maximum(db, peak - self.top_db)
        return db.unsqueeze(1)


def _dft_factors(n_fft: int, hop: int) -> tuple[int, int] | None:
    """``(n1, n2)`` with n1 * n2 = n_fft and n2 dividing the hop, the cheapest (n1 + n2 least).

    None when the hop does not divide n_fft or no such split exists (then the Conv1d form).
    """
    if n_fft % hop:
        return None
    shared = math.gcd(n_fft, hop)
    choices = [d for d in range(2, shared + 1) if shared % d == 0 and n_fft // d >= 2]
    if not choices:
        return None
    n2 = min(choices, key=lambda d: (n_fft // d + d, d))
    return n_fft // n2, n2


def _twiddles(rows: int, cols: int, size: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and -sin of 2 pi r c / size: the real and imaginary parts of W_size^(r c)."""
    angle = 2 * math.pi * torch.outer(torch.arange(rows, dtype=torch.float64),
                                      torch.arange(cols, dtype=torch.float64)) / size
    return (torch.cos(angle).to(like.dtype).to(like.device),
            (-torch.sin(angle)).to(like.dtype).to(like.device))


class Classifier(nn.Module):
    """Log-mel ``[b, 1, n_mels, frames]`` -> logits: resize, standardise, replicate, backbone.

    ``standardise=False`` when the log-mels come band-normalised per speaker
    (:class:`BandNorm`): a window's own mean and spread then carry what the speaker said.
    """

    def __init__(self, backbone: nn.Module, in_chans: int, input_size: tuple[int, int],
                 eps: float = 1e-5, standardise: bool = True) -> None:
        super().__init__()
        height, width = (int(v) for v in input_size)
        if in_chans <= 0 or height <= 0 or width <= 0:
            raise ValueError(f"Classifier needs positive in_chans and input_size; got {in_chans}, {input_size}")
        self.backbone = backbone
        self.in_chans = int(in_chans)
        self.input_size = (height, width)
        self.eps = float(eps)
        self.standardise = bool(standardise)

    def forward(self, logmel: torch.Tensor) -> torch.Tensor:
        x = logmel
        if tuple(logmel.shape[-2:]) != self.input_size:  # bilinear to the same size is the identity
            x = F.interpolate(logmel, size=self.input_size, mode="bilinear", align_corners=False)
        if self.standardise:
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            var = (x - mean).pow(2).mean(dim=(1, 2, 3), keepdim=True)
            x = (x - mean) / torch.sqrt(var + self.eps)
        if self.in_chans != 1:
            x = x.expand(-1, self.in_chans, -1, -1)
        return self.backbone(x)


class BandNorm(nn.Module):
    """Log-mel ``[b, 1, n_mels, frames]`` z-scored per band by a speaker's statistics.

    ``stats`` ``[2, n_mels]`` (mean, standard deviation in dB; :mod:`engine.models.calibration`) are fed
    per call; without them the stored ``default`` is used (the training speakers' statistics
    averaged: a model nobody calibrated).
    """

    def __init__(self, default: torch.Tensor) -> None:
        super().__init__()
        default = torch.as_tensor(default, dtype=torch.float32)
        if default.ndim != 2 or default.shape[0] != 2:
            raise ValueError(f"BandNorm needs [2, n_mels] statistics, got {list(default.shape)}")
        self.register_buffer("default", default.clone())

    def forward(self, logmel: torch.Tensor, stats: torch.Tensor | None = None) -> torch.Tensor:
        stats = self.default if stats is None else stats
        return (logmel - stats[0][None, None, :, None]) / stats[1][None, None, :, None]


def band_moments(logmel: torch.Tensor) -> torch.Tensor:
    """``[b, 2, n_mels]``: each band's mean over frames and mean square (engine.models.calibration's input)."""
    x = logmel[:, 0]
    return torch.stack([x.mean(dim=-1), (x * x).mean(dim=-1)], dim=1)


class WaveformModel(nn.Module):
    """Waveform ``[b, n_samples]`` -> class probabilities ``[b, n_classes]``: what is exported.

    With ``band_norm`` the log-mels are z-scored per band by a speaker's statistics (``stats``,
    or the stored default) before the classifier.
    """

    def __init__(self, frontend: LogMel, classifier: Classifier, band_norm: BandNorm | None = None) -> None:
        super().__init__()
        self.frontend = frontend
        self.classifier = classifier
        self.band_norm = band_norm

    def forward(self, waveform: torch.Tensor, stats: torch.Tensor | None = None) -> torch.Tensor:
        logmel = self.frontend(waveform)
        if self.band_norm is not None:
            logmel = self.band_norm(logmel, stats)
        return torch.softmax(self.classifier(logmel), dim=-1)


def head_layer(backbone: nn.Module) -> nn.Linear:
    """The backbone's last ``nn.Linear`` (its classifier head); its input is the embedding."""
    linears = [m for m in backbone.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(backbone).__name__} has no linear head, so it has no embedding")
    return linears[-1]


class ExportedModel(nn.Module):
    """``(waveform[, band_stats]) -> (probs[, band_moments], embedding)``: what export traces.

    The embedding ``[b, dim]`` is what the backbone's head (:func:`head_layer`) receives, caught
    by a forward pre-hook that lives only during this call, so the network is not changed.
    """

    def __init__(self, model: WaveformModel) -> None:
        super().__init__()
        self.model = model
        self.head = head_layer(model.classifier.backbone)

    def forward(self, waveform: torch.Tensor, stats: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        caught: list[torch.Tensor] = []
        handle = self.head.register_forward_pre_hook(lambda _module, args: caught.append(args[0]))
        try:
            logmel = self.model.frontend(waveform)
            x = logmel if self.model.band_norm is None else self.model.band_norm(logmel, stats)
            probs = torch.softmax(self.model.classifier(x), dim=-1)
        finally:
            handle.remove()
        embedding = caught[-1].flatten(1)
        if self.model.band_norm is None:
            return probs, embedding
        return probs, band_moments(logmel), embedding
