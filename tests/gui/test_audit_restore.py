"""The audit ranking comes back in the next run of the app without re-ranking, keyed by the data
set's content: a changed clip means no ranking shown (never a stale one); a damaged cache is ignored."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from engine.datasets import rankings as ranking_cache
from engine.datasets.synth import write_emodb
from gui.audit import ranking as ranking_module
from tests.conftest import sine


@pytest.fixture
def kept(tmp_path, monkeypatch):
    monkeypatch.setenv("EARMARK_CACHE_DIR", str(tmp_path / "cache"))
    calls = []
    real = ranking_module.rank_suspects_job

    def counting(request, **kw):
        calls.append(request)
        return real(request, **kw)

    monkeypatch.setattr(ranking_module, "rank_suspects_job", counting)
    return calls


def _window(qtbot, settings, catalog):
    from gui.main_window import MainWindow

    window = MainWindow(settings, catalog, use_audio_device=False)
    qtbot.addWidget(window)
    if window.audit_view is None:
        pytest.skip("the Audit tab is not installed")
    return window


def _shown(view):
    """What the view shows of a ranking: per clip, its rank and out-of-fold probabilities."""
    session = view.session
    return {key: (s.rank, np.round(s.probs, 6).tolist(), s.is_issue) for key, s in session.suspicion.items()}


def _reopened(qtbot, settings, catalog):
    window = _window(qtbot, settings, catalog)
    with qtbot.waitSignal(window.audit_view.ranking.restore_checked, timeout=20_000) as blocker:
        window.show()              # the window reopens the last data set once it shows
    return window, blocker.args[0]


def test_the_ranking_comes_back_without_re_ranking_and_never_stale(qtbot, settings, catalog, tmp_path, kept):
    pytest.importorskip("torch")
    root = write_emodb(tmp_path / "emo", n_speakers=5, sentences_per_speaker=1, seconds=0.4, sample_rate_hz=8000)
    first = _window(qtbot, settings, catalog)
    view = first.audit_view
    with qtbot.waitSignal(view.opened, timeout=20_000):
        view.open_dataset(root, "emodb")
    with qtbot.waitSignal(view.ranked, timeout=120_000):
        assert view.rank_suspects() is not None
    assert len(kept) == 1
    ranked = _shown(view)
    top = view.current_key()
    assert len(ranked) == 35 and len(list((tmp_path / "cache" / "rankings").glob("*.json"))) == 1
    first.close()

    again, shown = _reopened(qtbot, settings, catalog)
    view = again.audit_view
    assert shown is True and len(kept) == 1 and view.ranking.worker is None      # the ranker never started
    assert _shown(view) == ranked and view.current_key() == top
    assert "not re-ranked" in view.source_label.text()
    assert view.proxy.data(view.proxy.index(0, 0)) == "1"                       # suspects first, as before
    again.close()

    changed = sorted((root / "wav").glob("*.wav"))[3]
    import soundfile as sf

    sf.write(changed, sine(300, 0.5, 8000), 8000, subtype="PCM_16")            # one clip's file changes
    third, shown = _reopened(qtbot, settings, catalog)
    assert shown is False and third.audit_view.session.result is None and not third.audit_view.session.suspicion
    assert third.audit_view.session.is_open and len(kept) == 1
    third.close()


def test_a_damaged_or_foreign_cache_file_is_ignored_with_a_log_line(tmp_path, caplog):
    from engine.datasets.clips import Clip, Manifest

    wav = tmp_path / "d" / "a.wav"
    wav.parent.mkdir()
    import soundfile as sf

    sf.write(wav, sine(200, 0.2, 8000), 8000)
    manifest = Manifest(tmp_path / "d", "folders", [Clip(wav, "a", "g")], ["a"])
    key = ranking_cache.content_key(manifest, folds=2)
    assert key != ranking_cache.content_key(manifest, folds=3)                    # folds are part of the key
    folder = tmp_path / "cache"
    folder.mkdir()
    with caplog.at_level(logging.WARNING):
        ranking_cache.path_for(key, folder).write_text("{ not json")
        assert ranking_cache.load(key, folder) is None
        ranking_cache.path_for(key, folder).write_text('{"format": "something else", "version": 1}')
        assert ranking_cache.load(key, folder) is None
    assert sum("Ignoring the kept audit ranking" in r.message for r in caplog.records) == 2
