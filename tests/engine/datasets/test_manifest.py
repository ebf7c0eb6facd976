import numpy as np
import pytest

from engine.datasets.manifest import detect_layout, read_manifest
from engine.datasets.synth import write_emodb, write_esc50
from engine.errors import ManifestError
from tests.conftest import EMODB_2S, sine


@pytest.fixture(scope="module")
def esc50(tmp_path_factory):
    return write_esc50(tmp_path_factory.mktemp("esc50"), n_classes=3, clips_per_class=6, seconds=0.5,
                       sample_rate_hz=8000)


@pytest.fixture(scope="module")
def emodb(tmp_path_factory):
    return write_emodb(tmp_path_factory.mktemp("emodb"), n_speakers=3, sentences_per_speaker=2,
                       seconds=0.5, sample_rate_hz=8000)


def test_esc50_real_naming_scheme(esc50):
    header = (esc50 / "meta" / "esc50.csv").read_text().splitlines()[0]
    assert header == "filename,fold,target,category,esc10,src_file,take"
    m = read_manifest(esc50)
    assert m.layout == "esc50" and m.labels == ["dog", "rooster", "pig"]
    assert len(m.clips) == 18
    clip = next(c for c in m.clips if c.path.name == "1-100000-A-0.wav")
    assert (clip.label, clip.fold, clip.group) == ("dog", 1, "100000")
    # several takes per source file share one group
    groups = {}
    for c in m.clips:
        groups.setdefault(c.group, set()).add(c.path.name.split("-")[2])
    assert all(takes == {"A", "B"} for takes in groups.values())


def test_emodb_real_naming_scheme(emodb):
    m = read_manifest(emodb)
    assert m.layout == "emodb" and len(m.labels) == 7
    clip = next(c for c in m.clips if c.path.name == "08a02Wa.wav")
    assert (clip.label, clip.speaker, clip.group) == ("anger", "08", "08")


def test_real_emodb_copy_parses():
    m = read_manifest(EMODB_2S, "emodb")
    assert len(m.clips) == 439
    assert m.class_counts() == {"anger": 103, "boredom": 66, "disgust": 36, "fear": 56,
                                "happiness": 59, "neutral": 66, "sadness": 53}
    assert sorted({c.speaker for c in m.clips}) == ["03", "08", "09", "10", "11", "14", "15", "16"]


def test_emodb_unknown_emotion_letter_names_the_file(tmp_path, write_wav):
    write_wav("wav/03a01Wa.wav", sine(200, 0.1))
    write_wav("wav/03a01Xa.wav", sine(200, 0.1))
    with pytest.raises(ManifestError, match=r"03a01Xa\.wav.*unknown emotion letter 'X'"):
        read_manifest(tmp_path, "emodb")


def test_folders_and_csv(tmp_path, write_wav):
    write_wav("folders/cat/a.wav", sine(300, 0.1))
    write_wav("folders/dog/b.flac".replace(".flac", ".wav"), sine(600, 0.1))
    m = read_manifest(tmp_path / "folders")
    assert m.layout == "folders" and m.labels == ["cat", "dog"]
    csv = tmp_path / "folders" / "list.csv"
    csv.write_text("path,label,group,fold\ncat/a.wav,cat,g1,1\ndog/b.wav,dog,,2\n")
    m = read_manifest(csv)
    assert detect_layout(csv) == "csv"
    assert [(c.label, c.group, c.fold) for c in m.clips] == [("cat", "g1", 1), ("dog", "b", 2)]


@pytest.mark.parametrize(
    "body, message",
    [
        ("path,label\na.wav,\n", "line 2: missing label"),
        ("path,label\nmissing.wav,cat\n", "line 2: audio file .*missing.wav does not exist"),
        ("path\na.wav\n", "missing column"),
    ],
)
def test_csv_errors_name_the_row(tmp_path, write_wav, body, message):
    write_wav("a.wav", sine(300, 0.1))
    csv = tmp_path / "data.csv"
    csv.write_text(body)
    with pytest.raises(ManifestError, match=message):
        read_manifest(csv, "csv")


def test_esc50_missing_audio_named(esc50, tmp_path):
    meta = tmp_path / "meta"
    meta.mkdir()
    (meta / "esc50.csv").write_text(
        "filename,fold,target,category,esc10,src_file,take\n1-1-A-0.wav,1,0,dog,True,1,A\n")
    with pytest.raises(ManifestError, match="1-1-A-0.wav does not exist"):
        read_manifest(tmp_path, "esc50")


def test_undetectable_layout(tmp_path):
    (tmp_path / "readme.txt").write_text("nothing here")
    with pytest.raises(ManifestError, match="cannot tell the layout"):
        read_manifest(tmp_path)


def test_synth_is_deterministic(tmp_path):
    a = write_emodb(tmp_path / "a", n_speakers=1, sentences_per_speaker=1, seconds=0.2, sample_rate_hz=8000)
    b = write_emodb(tmp_path / "b", n_speakers=1, sentences_per_speaker=1, seconds=0.2, sample_rate_hz=8000)
    for f in sorted((a / "wav").iterdir()):
        assert f.read_bytes() == (b / "wav" / f.name).read_bytes()
    assert len(list((a / "wav").iterdir())) == 7
    assert np.any(np.frombuffer((a / "wav" / "03a01Wa.wav").read_bytes()[44:], np.int16))
