"""Deterministic synthetic data sets in the real ESC-50 and EmoDB layouts.

Each class is a recipe (tones, harmonics, modulation, a noise band, a pitch contour)
that a model can learn; clips vary around it. Same arguments, same bytes.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from engine.atomic import atomic_write_text
from engine.audio.io import save_audio

ESC50_CATEGORIES = [
    "dog", "rooster", "pig", "cow", "frog", "cat", "hen", "insects", "sheep", "crow",
    "rain", "sea_waves", "crackling_fire", "crickets", "chirping_birds", "water_drops", "wind",
    "pouring_water", "toilet_flush", "thunderstorm", "crying_baby", "sneezing", "clapping",
    "breathing", "coughing", "footsteps", "laughing", "brushing_teeth", "snoring",
    "drinking_sipping", "door_wood_knock", "mouse_click", "keyboard_typing",
    "door_wood_creaks", "can_opening", "washing_machine", "vacuum_cleaner", "clock_alarm",
    "clock_tick", "glass_breaking", "helicopter", "chainsaw", "siren", "car_horn", "engine",
    "train", "church_bells", "airplane", "fireworks", "hand_saw",
]
ESC10 = {"dog", "rooster", "rain", "sea_waves", "crackling_fire", "crying_baby", "sneezing",
         "clock_tick", "helicopter", "chainsaw"}
EMODB_SPEAKERS = ["03", "08", "09", "10", "11", "12", "13", "14", "15", "16"]
EMODB_SENTENCES = ["a01", "a02", "a04", "a05", "a07", "b01", "b02", "b03", "b09", "b10"]
# letter: (pitch factor, pitch range in semitones, energy, syllables per second)
EMODB_STYLES = {
    "W": (1.35, 6.0, 0.9, 5.5), "L": (0.85, 1.0, 0.35, 3.0), "E": (1.0, 3.0, 0.5, 3.5),
    "A": (1.5, 4.0, 0.6, 6.5), "F": (1.3, 8.0, 0.75, 5.0), "T": (0.8, 2.0, 0.3, 2.5),
    "N": (1.0, 2.5, 0.5, 4.0),
}


def write_esc50(out, *, n_classes=10, clips_per_class=10, seconds=5.0, sample_rate_hz=44100,
                seed=0, takes_per_source=2) -> Path:
    """ESC-50 layout: audio/{fold}-{src_file}-{take}-{target}.wav and meta/esc50.csv."""
    if not 2 <= n_classes <= len(ESC50_CATEGORIES):
        raise ValueError(f"n_classes must be in [2, {len(ESC50_CATEGORIES)}]")
    out = Path(out)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    rows = []
    for target in range(n_classes):
        recipe = _class_recipe(np.random.default_rng([seed, target]))
        for i in range(clips_per_class):
            source_index = i // takes_per_source
            take = "ABCDEFGH"[i % takes_per_source]
            fold = 1 + (source_index % 5)
            src_file = f"{100000 + 1000 * target + source_index}"
            rng_source = np.random.default_rng([seed, target, source_index])
            rng_take = np.random.default_rng([seed, target, source_index, i])
            samples = _render_event(recipe, rng_source, rng_take, seconds, sample_rate_hz)
            name = f"{fold}-{src_file}-{take}-{target}.wav"
            save_audio(out / "audio" / name, samples, sample_rate_hz)
            category = ESC50_CATEGORIES[target]
            rows.append([name, fold, target, category, category in ESC10, src_file, take])
    rows.sort(key=lambda r: r[0])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["filename", "fold", "target", "category", "esc10", "src_file", "take"])
    writer.writerows(rows)
    atomic_write_text(out / "meta" / "esc50.csv", buffer.getvalue())
    return out


def write_emodb(out, *, n_speakers=4, sentences_per_speaker=5, seconds=1.5, sample_rate_hz=16000,
                seed=0) -> Path:
    """EmoDB layout: wav/{speaker}{sentence}{emotion}{version}.wav."""
    if not 1 <= n_speakers <= len(EMODB_SPEAKERS):
        raise ValueError(f"n_speakers must be in [1, {len(EMODB_SPEAKERS)}]")
    out = Path(out)
    (out / "wav").mkdir(parents=True, exist_ok=True)
    for s_index, speaker in enumerate(EMODB_SPEAKERS[:n_speakers]):
        base_f0_hz = 110.0 if s_index % 2 == 0 else 200.0
        base_f0_hz *= 1.0 + 0.06 * (s_index // 2)
        for sentence in EMODB_SENTENCES[:sentences_per_speaker]:
            for letter, style in EMODB_STYLES.items():
                rng = np.random.default_rng([seed, s_index, EMODB_SENTENCES.index(sentence), ord(letter)])
                samples = _render_voice(style, base_f0_hz, rng, seconds, sample_rate_hz)
                save_audio(out / "wav" / f"{speaker}{sentence}{letter}a.wav", samples, sample_rate_hz)
    return out


def _class_recipe(rng: np.random.Generator) -> dict:
    return {
        "f0_hz": float(rng.uniform(150, 3000)),
        "n_harmonics": int(rng.integers(1, 6)),
        "chirp_octaves": float(rng.choice([-1.0, 0.0, 0.0, 1.0]) * rng.uniform(0.3, 1.0)),
        "am_hz": float(rng.choice([0.0, rng.uniform(2, 12)])),
        "noise_center_hz": float(rng.uniform(300, 8000)),
        "noise_level": float(rng.uniform(0.0, 0.6)),
        "event_s": float(rng.uniform(0.2, 1.5)),
        "repeats": int(rng.integers(1, 5)),
    }


def _render_event(recipe, rng_source, rng_take, seconds, sample_rate_hz) -> np.ndarray:
    n = int(round(seconds * sample_rate_hz))
    t = np.arange(n) / sample_rate_hz
    f0 = recipe["f0_hz"] * rng_source.uniform(0.93, 1.07)
    f0 = min(f0, 0.2 * sample_rate_hz)
    inst_f = f0 * 2.0 ** (recipe["chirp_octaves"] * (t % recipe["event_s"]) / recipe["event_s"])
    phase = 2 * np.pi * np.cumsum(inst_f) / sample_rate_hz
    tone = sum(np.sin(k * phase) / k for k in range(1, recipe["n_harmonics"] + 1)
               if k * inst_f.max() < 0.45 * sample_rate_hz)
    if recipe["am_hz"]:
        tone = tone * (0.6 + 0.4 * np.sin(2 * np.pi * recipe["am_hz"] * t))
    noise = _band_noise(rng_take, n, recipe["noise_center_hz"], sample_rate_hz)
    signal = tone + recipe["noise_level"] * 3 * noise
    envelope = np.zeros(n)
    event_n = max(1, int(recipe["event_s"] * sample_rate_hz))
    for _ in range(recipe["repeats"]):
        start = int(rng_take.integers(0, max(1, n - event_n)))
        ramp = np.hanning(min(event_n, n - start))
        envelope[start : start + len(ramp)] = np.maximum(envelope[start : start + len(ramp)], ramp)
    background = 0.01 * rng_take.standard_normal(n)
    out = signal * envelope * rng_take.uniform(0.2, 0.5) / max(np.abs(signal).max(), 1e-6) + background
    return np.clip(out, -1, 1).astype(np.float32)


def _band_noise(rng, n, center_hz, sample_rate_hz) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sample_rate_hz)
    center_hz = min(center_hz, 0.4 * sample_rate_hz)
    spectrum *= np.exp(-0.5 * ((freqs - center_hz) / (0.25 * center_hz)) ** 2)
    noise = np.fft.irfft(spectrum, n)
    return noise / max(np.abs(noise).max(), 1e-9)


def _render_voice(style, base_f0_hz, rng, seconds, sample_rate_hz) -> np.ndarray:
    pitch_factor, range_st, energy, syllables_per_s = style
    n = int(round(seconds * sample_rate_hz))
    t = np.arange(n) / sample_rate_hz
    contour_st = range_st * np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * t + rng.uniform(0, 6.28))
    f0 = base_f0_hz * pitch_factor * rng.uniform(0.96, 1.04) * 2.0 ** (contour_st / 12)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate_hz
    voiced = sum(np.sin(k * phase) * np.exp(-0.35 * k) for k in range(1, 16)
                 if k * f0.max() < 0.45 * sample_rate_hz)
    syllables = 0.5 * (1 + np.sign(np.sin(2 * np.pi * syllables_per_s * t * rng.uniform(0.9, 1.1))))
    envelope = np.convolve(syllables, np.hanning(int(0.03 * sample_rate_hz)), mode="same")
    envelope /= max(envelope.max(), 1e-9)
    out = energy * voiced / max(np.abs(voiced).max(), 1e-9) * envelope
    out += 0.005 * rng.standard_normal(n)
    return np.clip(0.8 * out, -1, 1).astype(np.float32)
