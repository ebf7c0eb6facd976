import numpy as np
import pytest

from engine.live.ringbuffer import RingBuffer


def _ramp(start, n):
    return np.arange(start, start + n, dtype=np.float32)


def test_windows_are_contiguous_views_across_the_wrap():
    ring = RingBuffer(100)
    for start in range(0, 360, 30):
        ring.write(_ramp(start, 30))
    window = ring.latest(100)
    assert window.base is not None  # a view, not a copy
    np.testing.assert_array_equal(window, _ramp(260, 100))
    np.testing.assert_array_equal(ring.window(340, 50), _ramp(290, 50))
    with pytest.raises(IndexError):
        ring.window(200, 50)  # overwritten


def test_write_does_not_allocate_new_storage():
    ring = RingBuffer(64)
    storage = ring._buf
    for _ in range(20):
        ring.write(np.ones(40, dtype=np.float32))
    assert ring._buf is storage and ring.total_written == 800


def test_block_longer_than_capacity_keeps_its_tail():
    ring = RingBuffer(10)
    ring.write(_ramp(0, 25))
    np.testing.assert_array_equal(ring.latest(10), _ramp(15, 10))
    assert ring.total_written == 25


def test_each_reader_has_its_own_cursor_and_consumes_whole_hops():
    ring = RingBuffer(1000)
    a, b = ring.reader(), ring.reader()
    ring.write(_ramp(0, 250))
    hops = []
    while (got := a.next_hop(100, 150)) is not None:
        hops.append(got[1])
        np.testing.assert_array_equal(got[0][-100:], _ramp(got[1] - 100, 100))
    assert hops == [100, 200] and a.available == 50
    np.testing.assert_array_equal(b.read(), _ramp(0, 250))
    assert b.available == 0


def test_lapped_reader_skips_and_counts_dropped_samples():
    ring = RingBuffer(100)
    reader = ring.reader()
    ring.write(_ramp(0, 90))
    ring.write(_ramp(90, 90))
    out = reader.read()
    assert reader.dropped_samples == 80
    np.testing.assert_array_equal(out, _ramp(80, 100))


def test_arrival_time_of_the_block_holding_a_sample():
    clock = iter([1.0, 2.0, 3.0])
    ring = RingBuffer(1000, clock=lambda: next(clock))
    for _ in range(3):
        ring.write(np.zeros(100, dtype=np.float32))
    assert ring.arrival_time(100) == 1.0
    assert ring.arrival_time(101) == 2.0
    assert ring.arrival_time(300) == 3.0


def test_a_lapped_reader_skips_ahead_instead_of_asking_for_lost_audio():
    ring = RingBuffer(1000)
    reader = ring.reader()
    ring.write(np.arange(2500, dtype=np.float32))      # the writer laps the reader twice over
    got = reader.next_hop(100, 400)
    assert got is not None
    window, end = got
    assert end - 400 >= ring.oldest_index()            # the whole window is still held
    assert np.array_equal(window, np.arange(end - 400, end, dtype=np.float32))
    assert reader.dropped_samples == end - 100         # everything before this hop was dropped, counted
