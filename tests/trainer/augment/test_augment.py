"""Augmentations really change the audio as they claim, keep length and dtype, and are seeded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import sine
from trainer.augment import (
    AUGMENTATIONS,
    Compose,
    Gain,
    Noise,
    OneOf,
    PitchShift,
    Reverb,
    TimeStretch,
    create_augmentation,
    mixup,
    spec_augment,
    spec_warp,
)

SR = 16000


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def _replay(seed: int) -> np.random.Generator:
    """A generator in the state ``apply`` leaves after its p-draw (to read the drawn parameters)."""
    rng = np.random.default_rng(seed)
    rng.random()
    return rng


def _peak_hz(x: np.ndarray, sample_rate_hz: int = SR) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sample_rate_hz)[spectrum.argmax()])


def _burst(start_s: float, stop_s: float, seconds: float = 1.0) -> np.ndarray:
    x = np.zeros(int(seconds * SR), dtype=np.float32)
    a, b = int(start_s * SR), int(stop_s * SR)
    x[a:b] = sine(1000.0, (b - a) / SR, SR)
    return x


@pytest.mark.parametrize("name", sorted(AUGMENTATIONS))
def test_contract_length_dtype_change_and_seed(name):
    aug = create_augmentation(name, p=1.0)
    x = sine(440.0, 0.5, SR) + 0.05 * np.random.default_rng(0).standard_normal(SR // 2).astype(np.float32)
    before = x.copy()
    y1 = aug.apply(x, SR, np.random.default_rng(3))
    y2 = aug.apply(x, SR, np.random.default_rng(3))
    y3 = aug.apply(x, SR, np.random.default_rng(4))
    assert y1.dtype == np.float32 and y1.shape == x.shape
    assert np.isfinite(y1).all()
    np.testing.assert_array_equal(x, before)          # pure: input untouched
    np.testing.assert_array_equal(y1, y2)             # same seed, same output
    assert not np.allclose(y1, x, atol=1e-4)          # it really changed the audio
    assert not np.allclose(y1, y3, atol=1e-6)         # another seed, another draw


@pytest.mark.parametrize("name", sorted(AUGMENTATIONS))
def test_p_zero_returns_the_input(name):
    x = sine(300.0, 0.25, SR)
    y = create_augmentation(name, p=0.0).apply(x, SR, np.random.default_rng(0))
    np.testing.assert_array_equal(y, x)


def test_gain_changes_rms_by_the_drawn_db():
    aug = Gain(db=(-9.0, 9.0), p=1.0)
    x = sine(440.0, 0.5, SR, amplitude=0.1)
    for seed in range(5):
        y = aug.apply(x, SR, np.random.default_rng(seed))
        drawn_db = aug.draw_db(_replay(seed))
        assert 20 * np.log10(_rms(y) / _rms(x)) == pytest.approx(drawn_db, abs=0.01)


@pytest.mark.parametrize("colour", ["white", "pink"])
def test_noise_gives_the_drawn_snr(colour):
    aug = Noise(snr_db=(3.0, 25.0), colour=colour, p=1.0)
    x = sine(440.0, 1.0, SR, amplitude=0.3)
    for seed in range(4):
        y = aug.apply(x, SR, np.random.default_rng(seed))
        snr_db, drawn_colour = aug.draw(_replay(seed))
        measured_db = 20 * np.log10(_rms(x) / _rms(y - x))
        assert drawn_colour == colour
        assert measured_db == pytest.approx(snr_db, abs=0.5)
        assert 3.0 - 0.5 <= measured_db <= 25.0 + 0.5


def test_pink_noise_has_more_low_than_high_energy():
    x = np.full(SR, 1e-3, dtype=np.float32) + sine(50.0, 1.0, SR, 0.01)
    noise = Noise(snr_db=(0.0, 0.0), colour="pink", p=1.0).apply(x, SR, np.random.default_rng(0)) - x
    power = np.abs(np.fft.rfft(noise)) ** 2
    freqs = np.fft.rfftfreq(SR, 1 / SR)
    assert power[(freqs > 100) & (freqs < 500)].mean() > 5 * power[(freqs > 4000) & (freqs < 8000)].mean()


@pytest.mark.parametrize("semitones", [2.0, -3.0])
def test_pitch_shift_moves_a_sines_peak(semitones):
    x = sine(440.0, 1.0, SR)
    y = PitchShift(semitones=(semitones, semitones), p=1.0).apply(x, SR, np.random.default_rng(0))
    expected_hz = 440.0 * 2 ** (semitones / 12)
    assert _peak_hz(y[2000:-2000]) == pytest.approx(expected_hz, rel=0.02)
    assert abs(_peak_hz(y[2000:-2000]) - 440.0) > 20


def _onset_s(x: np.ndarray) -> float:
    return float(np.argmax(np.abs(x) > 0.3 * np.abs(x).max()) / SR)


@pytest.mark.parametrize("rate", [1.25, 0.8])
def test_time_stretch_moves_an_onset(rate):
    x = _burst(0.5, 0.8)
    y = TimeStretch(rate=(rate, rate), p=1.0).apply(x, SR, np.random.default_rng(0))
    assert len(y) == len(x)
    assert _onset_s(x) == pytest.approx(0.5, abs=0.005)
    assert _onset_s(y) == pytest.approx(0.5 / rate, abs=0.04)


@pytest.mark.parametrize("rate", [0.85, 1.0, 1.13])
def test_the_phase_vocoder_is_librosas(rate):
    """librosa.phase_vocoder's output (computed in float64: in float32 its phase drifts by up to 0.1 rad)."""
    import librosa

    from trainer.augment.vocoder import phase_vocoder

    x = sine(440.0, 2.0, SR, 0.3) + 0.05 * np.random.default_rng(1).standard_normal(2 * SR).astype(np.float32)
    spec = librosa.stft(x, n_fft=1024, hop_length=256)
    ours = phase_vocoder(spec, rate=rate)
    theirs = librosa.phase_vocoder(spec.astype(np.complex128), rate=rate, hop_length=256, n_fft=1024)
    assert ours.shape == theirs.shape and ours.dtype == spec.dtype
    np.testing.assert_allclose(np.abs(ours), np.abs(theirs), rtol=1e-5, atol=1e-6 * np.abs(theirs).max())
    loud = np.abs(theirs) > 1e-3 * np.abs(theirs).max()
    phase_error = np.abs(np.angle(ours[loud] * np.conj(theirs[loud])))
    assert phase_error.max() < 1e-5


@pytest.mark.parametrize("kind", ["time_stretch", "pitch_shift"])
def test_stretch_and_shift_sound_like_librosas(kind):
    import librosa

    from trainer.augment.vocoder import pitch_shift, time_stretch

    x = sine(330.0, 1.5, SR, 0.3) + sine(1250.0, 1.5, SR, 0.1)
    if kind == "time_stretch":
        ours, theirs = time_stretch(x, rate=1.1, n_fft=2048), librosa.effects.time_stretch(x, rate=1.1, n_fft=2048)
    else:
        ours = pitch_shift(x, sample_rate_hz=SR, n_steps=1.5, n_fft=2048)
        theirs = librosa.effects.pitch_shift(x, sr=SR, n_steps=1.5, n_fft=2048, res_type="soxr_hq")
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    assert np.abs(ours - theirs).max() < 0.02 * np.abs(theirs).max()


def test_reverb_adds_a_decaying_tail_after_the_sound_stops():
    x = _burst(0.2, 0.4)
    y = Reverb(rt60_s=(0.6, 0.6), p=1.0).apply(x, SR, np.random.default_rng(0))
    tail = slice(int(0.45 * SR), int(0.6 * SR))
    late = slice(int(0.8 * SR), int(0.95 * SR))
    assert _rms(x[tail]) == 0.0
    assert _rms(y[tail]) > 0.01 * _rms(y)
    assert _rms(y[late]) < _rms(y[tail])                       # it decays
    assert np.corrcoef(x, y)[0, 1] > 0.3                        # still the same sound
    assert np.abs(y).max() == pytest.approx(np.abs(x).max(), rel=1e-5)


def test_compose_and_one_of_are_seeded_and_keep_length():
    x = sine(440.0, 0.5, SR)
    chain = Compose([Gain(db=(-3, -3), p=1.0), Noise(snr_db=(20, 20), p=1.0)])
    y1, y2 = (chain.apply(x, SR, np.random.default_rng(1)) for _ in range(2))
    np.testing.assert_array_equal(y1, y2)
    assert y1.shape == x.shape and y1.dtype == np.float32
    pick = OneOf([Gain(db=(6, 6), p=1.0), Gain(db=(-6, -6), p=1.0)])
    gains = {round(20 * np.log10(_rms(pick.apply(x, SR, np.random.default_rng(s))) / _rms(x)))
             for s in range(12)}
    assert gains == {6, -6}


@pytest.mark.parametrize("make", [
    lambda: Gain(db=(6, -6)),
    lambda: Gain(p=1.5),
    lambda: Noise(snr_db=(5,)),
    lambda: Noise(colour="blue"),
    lambda: PitchShift(semitones=(-30, 0)),
    lambda: TimeStretch(rate=(0.0, 1.0)),
    lambda: Reverb(rt60_s=(float("nan"), 1.0)),
    lambda: OneOf([]),
    lambda: create_augmentation("wobble"),
])
def test_bad_arguments_raise_clear_value_errors(make):
    with pytest.raises(ValueError, match=r"\w"):
        make()


def test_apply_refuses_stereo():
    with pytest.raises(ValueError, match="mono"):
        Gain(p=1.0).apply(np.zeros((2, 100), np.float32), SR, np.random.default_rng(0))


def test_spec_augment_masks_with_the_mean_and_is_seeded():
    x = torch.randn(3, 1, 32, 40)
    before = x.clone()
    y1 = spec_augment(x, torch.Generator().manual_seed(0), freq_width=6, time_width=8)
    y2 = spec_augment(x, torch.Generator().manual_seed(0), freq_width=6, time_width=8)
    assert torch.equal(x, before) and torch.equal(y1, y2)
    changed = y1 != x
    assert changed.any()
    for b in range(3):
        if changed[b].any():
            assert torch.allclose(y1[b][changed[b]], x[b].mean().expand(int(changed[b].sum())))
    assert changed.float().mean() < 0.9


def test_spec_warp_moves_a_band_by_its_factor_and_is_seeded():
    # one bright band at mel row 20 of 64, the same in every frame
    x = torch.zeros(8, 1, 64, 50)
    x[:, :, 20] = 1.0
    y1 = spec_warp(x, torch.Generator().manual_seed(3), freq=0.2, time=0.0)
    y2 = spec_warp(x, torch.Generator().manual_seed(3), freq=0.2, time=0.0)
    assert torch.equal(y1, y2) and y1.shape == x.shape
    assert x[:, :, 20].eq(1).all() and x.sum() == 8 * 50       # the input is untouched
    rows = (y1[:, 0, :, 25] * torch.arange(64.0)).sum(-1) / y1[:, 0, :, 25].sum(-1)   # the band's centre
    assert rows.min() >= 20 * 0.8 - 0.5 and rows.max() <= 20 * 1.2 + 0.5
    assert rows.max() - rows.min() > 1.0                        # examples get different factors
    # the time warp stretches about the centre: a click in the middle frame stays there
    clicks = torch.zeros(8, 1, 64, 51)
    clicks[..., 25] = 1.0
    warped = spec_warp(clicks, torch.Generator().manual_seed(4), freq=0.0, time=0.2)
    assert warped[..., 25].gt(0.5).all() and warped[..., 0].eq(0).all()
    assert spec_warp(x, freq=0.0, time=0.0) is x
    with pytest.raises(ValueError, match="freq and time"):
        spec_warp(x, freq=1.5)


def test_mixup_blends_inputs_and_labels_alike():
    x = torch.arange(4, dtype=torch.float32).view(4, 1) * torch.ones(4, 5)
    y = torch.eye(4)
    mx, my = mixup(x, y, alpha=0.4, generator=torch.Generator().manual_seed(2))
    mx2, my2 = mixup(x, y, alpha=0.4, generator=torch.Generator().manual_seed(2))
    assert torch.equal(mx, mx2) and torch.equal(my, my2)
    assert torch.allclose(my.sum(1), torch.ones(4))
    # each mixed input equals its label-weighted mix of the originals
    assert torch.allclose(mx, my @ x, atol=1e-5)
    assert mixup(x, y, alpha=0.0)[0] is x
