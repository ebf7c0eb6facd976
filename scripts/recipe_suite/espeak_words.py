"""A synthesised data set of short spoken words, each espeak-ng voice x speed a speaker.

Why: issue 23's failing case was short spoken clips (0.14-2.3 s, 8 kHz, a handful of
speakers) that nobody on the team has. No real corpus of that shape is at hand, so the
recipe suite synthesises one: ten command words as classes, every espeak-ng voice variant
at every speed is one speaker (the split group), and each speaker says each word in a few
takes that differ in pitch. To be less clean than a synthesiser's output, each take gets a
deterministic random gain, a little leading / trailing silence and background noise at
10-30 dB SNR; clips are 8 kHz, 16-bit, about 0.25-1.4 s.

Everything is drawn from a seed derived from (speaker, word, take), so the same command
writes the same files byte for byte; the suite regenerates it rather than committing it.

``--mics`` writes the same takes as if each speaker had recorded them on a microphone and in a
room of their own (``espeak-mics`` in the suite): per speaker a random low cut (80-400 Hz), high
cut (2.2-3.9 kHz), a resonance (+-9 dB at 300-3000 Hz), a spectral tilt and a noise floor of its
own colour. Real collections of short clips (one person, one laptop) differ by speaker in
exactly this; a synthesiser's voices all share one clean channel, which hides how a recipe copes
with an unheard speaker's channel.

    python scripts/recipe_suite/espeak_words.py --out /work/scratch-recipe/data/espeak-words [--mics]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import subprocess
import wave
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
# espeak-ng's built-in (formant) English voices, with voice variants that change the timbre.
VOICES = ("en-gb", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan")
VARIANTS = ("m1", "f2")
SPEEDS = (130, 190)            # words per minute
PITCHES = (35, 50, 65)          # one take per pitch (espeak-ng -p, 0-99)
RATE_HZ = 8000


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "little")


def speak(word: str, voice: str, speed: int, pitch: int) -> tuple[np.ndarray, int]:
    """espeak-ng's waveform for one word (float32, its own rate)."""
    wav_bytes = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", word],
                               check=True, capture_output=True).stdout
    with wave.open(io.BytesIO(wav_bytes)) as w:
        rate = w.getframerate()
        frames = w.readframes(w.getnframes())
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0, rate


def trim(x: np.ndarray, rate: int, floor_db: float = -40.0) -> np.ndarray:
    """Cut the leading and trailing silence espeak-ng leaves (10 ms frames under floor_db of the peak)."""
    hop = max(1, rate // 100)
    frames = x[: len(x) // hop * hop].reshape(-1, hop)
    level = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(level > level.max() + floor_db)
    if not len(loud):
        return x
    return x[loud[0] * hop:(loud[-1] + 1) * hop]


def make_take(word: str, voice: str, variant: str, speed: int, pitch: int) -> np.ndarray:
    x, rate = speak(word, f"{voice}+{variant}", speed, pitch)
    x = soxr.resample(trim(x, rate), rate, RATE_HZ).astype(np.float32)
    rng = np.random.default_rng(_seed(voice, variant, speed, word, pitch))
    lead, tail = (int(rng.uniform(0.02, 0.25) * RATE_HZ) for _ in range(2))
    x = np.concatenate([np.zeros(lead, np.float32), x, np.zeros(tail, np.float32)])
    x *= 10 ** (rng.uniform(-12, 0) / 20) / max(1e-6, np.abs(x).max()) * 0.9
    signal_power = np.mean(x ** 2)
    snr_db = rng.uniform(10, 30)
    noise = rng.standard_normal(len(x)).astype(np.float32)
    # coloured a little (one-pole low-pass) so it is not plain white hiss
    noise = np.convolve(noise, [0.5, 0.3, 0.2], mode="same")
    noise *= np.sqrt(signal_power / 10 ** (snr_db / 10) / np.mean(noise ** 2))
    return np.clip(x + noise, -1, 1).astype(np.float32)


def channel(x: np.ndarray, speaker: str) -> np.ndarray:
    """``x`` as heard through ``speaker``'s own microphone and room (the same for all their takes)."""
    from scipy import signal

    rng = np.random.default_rng(_seed("mic", speaker))
    nyq = RATE_HZ / 2
    low = signal.butter(2, rng.uniform(80, 400) / nyq, "highpass", output="sos")
    high = signal.butter(4, rng.uniform(2200, 3900) / nyq, "lowpass", output="sos")
    y = signal.sosfilt(high, signal.sosfilt(low, x))
    # a resonance (peaking biquad, RBJ cookbook)
    f0, gain_db, q = rng.uniform(300, 3000), rng.uniform(-9, 9), rng.uniform(0.7, 3)
    a_lin, w0 = 10 ** (gain_db / 40), 2 * np.pi * f0 / RATE_HZ
    alpha = np.sin(w0) / (2 * q)
    b = [1 + alpha * a_lin, -2 * np.cos(w0), 1 - alpha * a_lin]
    a = [1 + alpha / a_lin, -2 * np.cos(w0), 1 - alpha / a_lin]
    y = signal.lfilter(b, a, y)
    # a tilt: one-pole pre-emphasis (brighter) or smoothing (duller)
    tilt = rng.uniform(-0.6, 0.6)
    y = signal.lfilter([1, -tilt], [1], y) if tilt > 0 else signal.lfilter([1 + tilt], [1, tilt], y)
    floor = signal.lfilter([1], [1, -rng.uniform(0, 0.9)], rng.standard_normal(len(y)))  # rumble to hiss
    y = y + floor * np.sqrt(np.mean(y ** 2) / max(1e-12, np.mean(floor ** 2))) * 10 ** (-rng.uniform(15, 35) / 20)
    y *= 0.9 / max(1e-6, np.abs(y).max()) * 10 ** (rng.uniform(-12, 0) / 20)
    return np.clip(y, -1, 1).astype(np.float32)


def build(out: Path, force: bool = False, mics: bool = False) -> Path:
    """Write ``out/audio/*.wav`` and ``out/data.csv`` (path,label,group,speaker); returns the CSV."""
    csv_path = out / "data.csv"
    if csv_path.is_file() and not force:
        return csv_path
    (out / "audio").mkdir(parents=True, exist_ok=True)
    rows = []
    for voice in VOICES:
        for variant in VARIANTS:
            for speed in SPEEDS:
                speaker = f"{voice}+{variant}@{speed}"
                for word in WORDS:
                    for pitch in PITCHES:
                        name = f"audio/{voice}_{variant}_{speed}_{word}_p{pitch}.wav"
                        take = make_take(word, voice, variant, speed, pitch)
                        sf.write(out / name, channel(take, speaker) if mics else take, RATE_HZ, subtype="PCM_16")
                        rows.append((name, word, speaker, speaker))
    tmp = csv_path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(("path", "label", "group", "speaker"))
        w.writerows(rows)
    tmp.replace(csv_path)
    (out / "README.md").write_text(__doc__ or "")
    return csv_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--mics", action="store_true", help="each speaker on a microphone and in a room of their own")
    args = ap.parse_args()
    path = build(args.out, args.force, args.mics)
    print(path)


if __name__ == "__main__":
    main()
