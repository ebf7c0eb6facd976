"""The baseline: the PNG spectrogram pipeline people used before Earmark, written faithfully.

What users did (and what this module does, serially, one clip after another):

1. ``librosa.load(path, sr=22050)`` each clip (decode + resample), fixed to 5 s;
2. for the original and five variants - white noise at a drawn SNR, pitch shift with
   ``librosa.effects.pitch_shift``, time stretch with ``librosa.effects.time_stretch``,
   reverb by convolving a synthetic room response, gain - compute
   ``librosa.feature.melspectrogram`` (librosa's defaults: n_fft 2048, hop 512, 128 mels)
   and ``librosa.power_to_db(ref=np.max)``;
3. render each log-mel to a 224x224 RGB PNG, one file per variant. Two renderers, both
   seen in the wild: ``"figure"`` (the default; a borderless matplotlib figure of
   2.24 x 2.24 inches at 100 dpi with ``imshow(cmap="magma")``, ``savefig`` - what
   most ESC-50 tutorials do, ``librosa.display.specshow`` style) and ``"colormap"``
   (``matplotlib.colormaps["magma"]`` applied to the min-max-normalised array, then
   ``PIL.Image.resize((224, 224), BILINEAR)`` and ``Image.save`` - the leaner way);
4. train from those PNGs with a torch ``Dataset`` that decodes each file with PIL,
   converts it to a tensor and applies ImageNet normalisation (torchvision's
   ``to_tensor`` + ``normalize``), batched by a ``DataLoader``.

Augmentation ranges match Earmark's defaults so both pipelines do the same work.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE_HZ = 22050
CLIP_S = 5.0
IMAGE_SIZE = 224
VARIANTS = ("original", "noise", "pitch_shift", "time_stretch", "reverb", "gain")
RENDERERS = ("figure", "colormap")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CMAP = "magma"


def augment(samples: np.ndarray, sample_rate_hz: int, variant: str, rng: np.random.Generator) -> np.ndarray:
    """One variant of a clip, the way the usual scripts made it (same length as the input)."""
    import librosa

    n = len(samples)
    if variant == "original":
        return samples
    if variant == "noise":
        snr_db = rng.uniform(5.0, 30.0)
        noise = rng.standard_normal(n).astype(np.float32)
        scale = np.sqrt(np.mean(samples**2) / (10 ** (snr_db / 10)) / (np.mean(noise**2) + 1e-12))
        return samples + scale * noise
    if variant == "pitch_shift":
        return librosa.effects.pitch_shift(samples, sr=sample_rate_hz, n_steps=rng.uniform(-2.0, 2.0))
    if variant == "time_stretch":
        stretched = librosa.effects.time_stretch(samples, rate=rng.uniform(0.85, 1.15))
        return librosa.util.fix_length(stretched, size=n)
    if variant == "reverb":
        from scipy.signal import fftconvolve

        rt60_s = rng.uniform(0.2, 1.0)
        t_s = np.arange(int(rt60_s * sample_rate_hz)) / sample_rate_hz
        ir = rng.standard_normal(len(t_s)) * np.exp(-6.9 * t_s / rt60_s)
        ir *= rng.uniform(0.3, 0.8) / np.linalg.norm(ir)
        ir[0] = 1.0
        wet = fftconvolve(samples, ir)[:n]
        return (wet * (np.abs(samples).max() / (np.abs(wet).max() + 1e-12))).astype(np.float32)
    if variant == "gain":
        return samples * np.float32(10 ** (rng.uniform(-6.0, 6.0) / 20))
    raise ValueError(f"unknown variant {variant!r}; valid: {', '.join(VARIANTS)}")


def log_mel_db(samples: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(y=samples, sr=sample_rate_hz)
    return librosa.power_to_db(mel, ref=np.max)


def render_png(db: np.ndarray, renderer: str = "figure") -> bytes:
    """A 224x224 RGB PNG of a log-mel (low frequencies at the bottom)."""
    if renderer == "figure":
        return _render_figure(db)
    if renderer == "colormap":
        return _render_colormap(db)
    raise ValueError(f"unknown renderer {renderer!r}; valid: {', '.join(RENDERERS)}")


def _render_figure(db: np.ndarray) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(IMAGE_SIZE / 100, IMAGE_SIZE / 100), dpi=100)
    try:
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.axis("off")
        ax.imshow(db, origin="lower", aspect="auto", cmap=CMAP)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100, pil_kwargs={"optimize": False})
    finally:
        plt.close(fig)
    from PIL import Image

    # savefig writes RGBA; users converted to RGB before (or while) loading
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _render_colormap(db: np.ndarray) -> bytes:
    import matplotlib
    from PIL import Image

    span = float(db.max() - db.min()) or 1.0
    rgb = matplotlib.colormaps[CMAP]((db[::-1] - db.min()) / span)[..., :3]
    image = Image.fromarray((rgb * 255).astype(np.uint8)).resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass(frozen=True)
class PngItem:
    path: Path
    label: int
    clip_index: int
    variant: str


def prepare_clip(path: str | os.PathLike, clip_index: int, out_dir: Path, *, renderer: str = "figure",
                 sample_rate_hz: int = SAMPLE_RATE_HZ, clip_s: float = CLIP_S, seed: int = 0) -> list[Path]:
    """Load one clip with librosa and write its original and five variants as PNGs."""
    import librosa

    samples, _ = librosa.load(path, sr=sample_rate_hz)
    samples = librosa.util.fix_length(samples, size=int(round(clip_s * sample_rate_hz)))
    written = []
    for v, variant in enumerate(VARIANTS):
        rng = np.random.default_rng([seed, clip_index, v])
        wave = augment(samples, sample_rate_hz, variant, rng).astype(np.float32)
        png = out_dir / f"{Path(path).stem}__{variant}.png"
        png.write_bytes(render_png(log_mel_db(wave, sample_rate_hz), renderer))
        written.append(png)
    return written


def prepare_dataset(paths: Sequence[str | os.PathLike], labels: Sequence[int], out_dir: str | os.PathLike, *,
                    renderer: str = "figure", sample_rate_hz: int = SAMPLE_RATE_HZ, clip_s: float = CLIP_S,
                    seed: int = 0, on_clip: Callable[[int], None] | None = None) -> list[PngItem]:
    """The whole baseline preparation: a plain serial loop over the clips, as the scripts had."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    items = []
    for i, (path, label) in enumerate(zip(paths, labels, strict=True)):
        pngs = prepare_clip(path, i, out, renderer=renderer, sample_rate_hz=sample_rate_hz, clip_s=clip_s,
                            seed=seed)
        items += [PngItem(p, int(label), i, v) for p, v in zip(pngs, VARIANTS, strict=True)]
        if on_clip is not None:
            on_clip(i)
    return items


class PngDataset:
    """A torch ``Dataset`` over PNG spectrograms: PIL decode -> tensor -> ImageNet normalisation."""

    def __init__(self, items: Sequence[PngItem]):
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        from PIL import Image
        from torchvision.transforms import functional as TF

        item = self.items[index]
        with Image.open(item.path) as image:
            tensor = TF.to_tensor(image.convert("RGB"))
        return TF.normalize(tensor, IMAGENET_MEAN, IMAGENET_STD), item.label, index


def png_loader(items: Sequence[PngItem], *, batch_size: int = 32, workers: int = 0, seed: int = 0,
               pin_memory: bool = False):
    """The training DataLoader the baseline used (shuffled, seeded)."""
    import torch
    from torch.utils.data import DataLoader

    return DataLoader(PngDataset(items), batch_size=batch_size, shuffle=True, num_workers=workers,
                      generator=torch.Generator().manual_seed(seed), pin_memory=pin_memory,
                      persistent_workers=False)
