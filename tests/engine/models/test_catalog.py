import pytest

from engine.errors import ModelLoadError
from engine.models.catalog import ModelCatalog
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


# ---- background probing through a dispatcher ---------------------------------------------------

import queue  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from engine.models.vet import Limits  # noqa: E402
from tests.helpers_onnx import loop_bomb_proto, slow_model_proto, write_proto  # noqa: E402


class OwnerThread:
    """Stands in for the GUI thread: runs what the catalog posts, in the test's thread."""

    def __init__(self):
        self.posted = queue.Queue()
        self.owner = threading.get_ident()

    def post(self, fn):
        self.posted.put(fn)

    def drain_until(self, condition, timeout_s=60.0):
        end = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < end, "the catalog never settled"
            try:
                self.posted.get(timeout=0.05)()
            except queue.Empty:
                pass


def test_background_refresh_lists_at_once_and_emits_on_the_owner_thread(tmp_path):
    folder = tmp_path / "models"
    write_tone_model(folder / "a.onnx")
    write_proto(loop_bomb_proto(), folder / "b_loop.onnx")
    write_tone_model(folder / "c.onnx", sample_rate_hz=8000, clip_s=0.5)
    catalog = ModelCatalog([("user", folder)], threads=1)
    owner = OwnerThread()
    catalog.set_dispatcher(owner.post)
    threads, currents = [], []
    catalog.subscribe("entries", lambda _: threads.append(threading.get_ident()))
    catalog.subscribe("current", lambda e: currents.append(e.name if e else None))
    entries = catalog.refresh(prefer=folder / "c.onnx")
    assert [e.name for e in entries] == ["a", "b_loop", "c"] and all(e.pending for e in entries)
    assert catalog.current is None  # nothing chosen before the saved choice is known
    owner.drain_until(lambda: catalog.settled)
    assert set(threads) == {owner.owner}
    assert [e.usable for e in catalog.entries] == [True, False, True]
    assert "uses Loop" in catalog.entries[1].error and "b_loop.onnx" in catalog.entries[1].error
    assert currents == ["c"]  # the preferred model, although "a" was usable first
    catalog.shutdown()


def test_an_unusable_preferred_model_falls_back_to_the_first_usable(tmp_path):
    folder = tmp_path / "models"
    write_tone_model(folder / "a.onnx")
    write_proto(loop_bomb_proto(), folder / "b_loop.onnx")
    catalog = ModelCatalog([("user", folder)], threads=1)
    owner = OwnerThread()
    catalog.set_dispatcher(owner.post)
    catalog.refresh(prefer=folder / "b_loop.onnx")
    owner.drain_until(lambda: catalog.current is not None)
    assert catalog.current.name == "a"
    catalog.shutdown()


def test_shutdown_stops_a_model_that_never_finishes(tmp_path):
    folder = tmp_path / "models"
    write_proto(slow_model_proto(), folder / "slow.onnx")
    catalog = ModelCatalog([("user", folder)], threads=1, limits=Limits(budget_s=120.0))
    owner = OwnerThread()
    catalog.set_dispatcher(owner.post)
    catalog.refresh()
    from engine.jobs import sandbox

    end = time.monotonic() + 30
    while not sandbox.running():
        assert time.monotonic() < end, "the sandbox never started"
        time.sleep(0.02)  # polling for the condition: the sandbox is running
    start = time.monotonic()
    catalog.shutdown()
    assert time.monotonic() - start < 5 and not any(w.is_alive() for w in catalog._workers)
    assert sandbox.running() == 0


def test_a_time_budget_marks_a_never_finishing_model_unusable(tmp_path):
    folder = tmp_path / "models"
    write_proto(slow_model_proto(), folder / "slow.onnx")
    write_tone_model(folder / "tones.onnx")
    catalog = ModelCatalog([("user", folder)], threads=1, limits=Limits(budget_s=2.0))
    owner = OwnerThread()
    catalog.set_dispatcher(owner.post)
    catalog.refresh()
    owner.drain_until(lambda: catalog.settled)
    slow, tones = catalog.entries
    assert "did not answer within 2 s" in slow.error and "slow.onnx" in slow.error
    assert tones.usable and catalog.current is tones


def test_remove_takes_a_broken_entry_off_the_list(tmp_path):
    folder = tmp_path / "models"
    write_tone_model(folder / "a.onnx")
    (folder / "broken.onnx").write_bytes(b"junk")
    catalog = ModelCatalog([("user", folder)], threads=1)
    catalog.refresh()
    events = []
    catalog.subscribe("entries", lambda e: events.append([x.name for x in e]))
    catalog.remove(folder / "broken.onnx")
    assert [e.name for e in catalog.entries] == ["a"] and events == [["a"]]
    assert (folder / "broken.onnx").exists()  # the file itself is never touched


def test_a_file_added_in_the_background_is_listed_at_once_and_used_once_vetted(tmp_path):
    folder = tmp_path / "models"
    write_tone_model(folder / "a.onnx")
    catalog = ModelCatalog([("user", folder)], threads=1, limits=Limits(budget_s=2.0))
    owner = OwnerThread()
    catalog.set_dispatcher(owner.post)
    catalog.refresh()
    owner.drain_until(lambda: catalog.settled)
    slow = catalog.add_file(write_proto(slow_model_proto(), tmp_path / "x" / "slow.onnx"), background=True,
                            select=True)
    assert slow.pending and catalog.current.name == "a"
    good = catalog.add_file(write_tone_model(tmp_path / "y" / "b.onnx"), background=True, select=True)
    owner.drain_until(lambda: catalog.settled)
    assert "did not answer within 2 s" in slow.error and catalog.current is good
    catalog.shutdown()
