"""The energy gate calibration pools voiced audio through: silence, room noise and a noise floor
well below the voice are left out; quiet speech is kept."""

from __future__ import annotations

import numpy as np

from engine.audio.voicing import FRAME_S, voiced_audio, voiced_mask
from tests.helpers_calibration import emodb_speaker, pause

RATE = 16000


def _voice(level_dbfs: float) -> np.ndarray:
    clips, _ = emodb_speaker("03", limit=3)
    voice = np.concatenate(clips)
    return (voice * 10 ** (level_dbfs / 20) / np.sqrt(np.mean(voice.astype(np.float64) ** 2))).astype(np.float32)


def test_pauses_of_silence_or_noise_are_gated_out_and_quiet_speech_is_kept():
    for level, noise in ((-20.0, None), (-20.0, -70.0), (-20.0, -55.0), (-45.0, -90.0)):
        voice = _voice(level)
        gap = pause(3.0, noise, RATE)
        kept = voiced_audio(np.r_[gap, voice, gap], RATE)
        alone = voiced_audio(voice, RATE)
        # the voice's frames and at most 0.1 s of hangover on either side of it
        assert len(alone) > 0.7 * len(voice), (level, noise)
        assert len(alone) <= len(kept) <= len(alone) + int(0.25 * RATE), (level, noise)


def test_silence_and_a_lone_click_leave_almost_nothing():
    assert not voiced_mask(pause(10.0, None), RATE).any()
    assert not voiced_mask(pause(10.0, -70.0), RATE).any()
    click = np.zeros(60 * RATE, np.float32)
    click[30 * RATE : 30 * RATE + 16] = 0.9
    assert voiced_mask(click, RATE).sum() * FRAME_S <= 0.25
