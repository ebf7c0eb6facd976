"""`clips --out DIR` never replaces a person's files, writes every clip atomically, and cuts background
in bounded memory (issue 25: S4, S5, D1, D14, D27)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import main
from engine.annotations.formats import write_regions
from engine.annotations.regions import Region
from engine.datasets.from_regions import ClipsError, make_clips
from engine.datasets.manifest import read_manifest
from engine.jobs.outputs import OutputExistsError
from tests.conftest import sine
from tests.helpers_regions import annotated_recordings

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def recordings(write_wav, tmp_path):
    return annotated_recordings(write_wav, tmp_path, n=2)


def test_an_existing_data_set_is_never_replaced_without_force(recordings, tmp_path, capsys):
    audio, labels = recordings
    ds = tmp_path / "ds"
    ds.mkdir()
    mine = b"path,label,group\nmine/a.wav,cat,g1\n"
    (ds / "data.csv").write_bytes(mine)
    args = ["clips", "--audio", *map(str, audio), "--labels", *map(str, labels), "--out", str(ds)]
    assert main.main(args) == 2
    err = capsys.readouterr().err
    assert str(ds / "data.csv") in err and "--force" in err
    assert (ds / "data.csv").read_bytes() == mine and sorted(p.name for p in ds.iterdir()) == ["data.csv"]
    assert main.main(args + ["--force"]) == 0
    (backup,) = ds.glob("data.backup-*.csv")
    assert backup.read_bytes() == mine
    assert len(read_manifest(ds / "data.csv", "csv").clips) == 4
    assert main.main(args) == 0  # its own data set from the last run is replaced without asking
    assert len(list(ds.glob("data.backup-*.csv"))) == 1


def test_a_clip_file_someone_else_made_is_never_overwritten(recordings, tmp_path):
    audio, labels = recordings
    first = make_clips(audio, labels, tmp_path / "ds")
    clip = first.csv_path.parent / read_manifest(first.csv_path, "csv").clips[0].path
    clip.write_bytes(b"edited by hand")  # changed since Earmark wrote it
    with pytest.raises(OutputExistsError, match=str(clip)):
        make_clips(audio, labels, tmp_path / "ds")
    assert clip.read_bytes() == b"edited by hand"


def test_recordings_whose_names_clean_up_alike_get_their_own_clip_folders(write_wav, tmp_path):
    audio, labels = [], []
    for name, freq in (("日本", 440.0), ("中文", 3000.0), ("rec 1", 700.0), ("rec_1", 1500.0)):
        audio.append(write_wav(f"recs/{name}.wav", sine(freq, 5.0, 8000), 8000))
        labels.append(tmp_path / "recs" / f"{name}.txt")
        write_regions(labels[-1], [Region(1, 2, "bird"), Region(3, 4, "frog")], "audacity")
    result = make_clips(audio, labels, tmp_path / "ds")
    clips = read_manifest(result.csv_path, "csv").clips
    assert len(clips) == 8 and len({c.path for c in clips}) == 8
    for c in clips:  # every clip holds its own recording's audio
        x, _ = sf.read(c.path, dtype="float32")
        source, _ = sf.read(next(a for a in audio if a.stem == c.group), dtype="float32")
        assert any(np.allclose(x, source[s:s + len(x)], atol=1e-4) for s in (8000, 24000)), (c.path, c.group)


def test_labels_the_data_set_reader_refuses_are_refused_before_anything_is_written(recordings, tmp_path):
    audio, labels = recordings
    write_regions(labels[0], [Region(1, 2, "\x1b[2Jbird")], "audacity")
    with pytest.raises(ClipsError, match="U\\+001B"):
        make_clips(audio, labels, tmp_path / "ds")
    write_regions(labels[0], [Region(1, 2, "x" * 5000)], "audacity")
    with pytest.raises(ClipsError, match="5000 characters"):
        make_clips(audio, labels, tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_skip_reasons_reach_the_final_error(write_wav, tmp_path):
    audio = write_wav("rec.wav", sine(440, 3.0, 8000), 8000)
    (tmp_path / "rec.txt").write_text("1.5\tbird\n5\t6\tfrog\n")
    with pytest.raises(ClipsError) as caught:
        make_clips([audio], [tmp_path / "rec.txt"], tmp_path / "ds")
    assert "'bird' at 1.500 s" in str(caught.value) and "'frog' at 5.000 s" in str(caught.value)


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS")
def test_background_clips_of_microsecond_regions_cut_in_bounded_memory(write_wav, tmp_path):
    audio = write_wav("rec.wav", 0.1 * np.ones(60 * 16000, np.float32), 16000)
    (tmp_path / "rec.txt").write_text("1\t1.000001\tbird\n2\t2.000001\tbird\n3\t3.000001\tfrog\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, str(ROOT / "main.py"), "clips", "--audio", str(audio), "--labels",
                          str(tmp_path / "rec.txt"), "--out", str(tmp_path / "ds"), "--background", "background"],
                         env=env, capture_output=True, text=True, timeout=120, preexec_fn=_limit_memory)
    assert run.returncode == 0, run.stderr[-2000:]
    clips = read_manifest(tmp_path / "ds" / "data.csv", "csv").clips
    assert sorted(c.label for c in clips) == ["background"] * 3 + ["bird"] * 2 + ["frog"]
