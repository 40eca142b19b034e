"""The replay's pause of the cycle collector (services.workflow.replay.cyclic_gc_paused): it is
process-wide, so overlapping pauses (two imports in two app sessions) must leave it exactly as
the first found it, also when a replay ends in an error."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from services.workflow.replay import cyclic_gc_paused


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_off_inside_and_on_again_after() -> None:
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_still_switches_it_back_on() -> None:
    with pytest.raises(ValueError), cyclic_gc_paused():
        raise ValueError("baris rusak")
    assert gc.isenabled()


def test_overlapping_pauses_end_with_the_last_one() -> None:
    first, second = cyclic_gc_paused(), cyclic_gc_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first import ends while the second still runs
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_the_caller_switched_off_stays_off() -> None:
    gc.disable()
    with cyclic_gc_paused():
        pass
    assert not gc.isenabled()


def test_pauses_from_many_threads_leave_it_on() -> None:
    start = threading.Barrier(8)

    def pause() -> None:
        start.wait()
        for _ in range(200):
            with cyclic_gc_paused():
                pass

    threads = [threading.Thread(target=pause) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert gc.isenabled()
