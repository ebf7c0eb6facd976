import pytest

from engine.catalog import ModelCatalog
from engine.errors import ModelLoadError
from tests.helpers_onnx import write_model_without_metadata, write_tone_model


def test_catalog_lists_models_keeps_reasons_and_switches(tmp_path):
    shipped, user = tmp_path / "models_onnx", tmp_path / "user"
    write_tone_model(shipped / "a_tones.onnx")
    write_model_without_metadata(shipped / "b_nometa.onnx")
    (user).mkdir()
    (user / "c_broken.onnx").write_bytes(b"not a model")
    write_tone_model(user / "d_fast.onnx", sample_rate_hz=8000, clip_s=0.5)
    catalog = ModelCatalog([("shipped", shipped), ("user", user)], threads=1)
    events = []
    catalog.subscribe("current", lambda e: events.append(e.name if e else None))
    entries = catalog.refresh()
    assert [e.name for e in entries] == ["a_tones", "b_nometa", "c_broken", "d_fast"]
    assert [e.usable for e in entries] == [True, False, False, True]
    assert "no Earmark metadata" in entries[1].error and "b_nometa.onnx" in entries[1].error
    assert "c_broken.onnx" in entries[2].error
    assert catalog.current.name == "a_tones" and events == ["a_tones"]
    catalog.select(user / "d_fast.onnx")
    assert catalog.classifier.meta.sample_rate_hz == 8000 and events[-1] == "d_fast"
    with pytest.raises(ModelLoadError, match="no Earmark metadata"):
        catalog.select(shipped / "b_nometa.onnx")
    assert catalog.current.name == "d_fast"  # a refused model leaves the current one in place
    catalog.refresh()
    assert catalog.current.name == "d_fast"


def test_added_file_survives_refresh(tmp_path):
    catalog = ModelCatalog([("shipped", tmp_path / "none")])
    assert catalog.refresh() == [] and catalog.current is None
    path = write_tone_model(tmp_path / "elsewhere" / "x.onnx")
    catalog.select(path)
    catalog.refresh()
    assert catalog.current.path == path
