"""The import's reader splits a log into the physical lines that io.StringIO(newline="")
would, a chunk at a time (services.eventlog._Tape), so the rows' numbers and the checks on
multi-line records are unchanged while the log is not held again at four bytes a character."""

from __future__ import annotations

import io
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services import eventlog
from services.eventlog import _Tape


@given(text=st.text(alphabet="ab,\"\r\n\u2028é", max_size=60),
       chunk=st.integers(min_value=1, max_value=8))
def test_the_tape_yields_the_lines_stringio_yields(text: str, chunk: int) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(eventlog, "TAPE_CHUNK", chunk)
        tape = _Tape(text)
        lines = list(tape)
    assert lines == list(io.StringIO(text, newline=""))
    assert tape.taken == lines


def test_a_carriage_return_and_newline_across_a_chunk_edge_stay_one_line(monkeypatch) -> None:
    monkeypatch.setattr(eventlog, "TAPE_CHUNK", 2)
    assert list(_Tape("ab\r\ncd\rE\n\nF")) == ["ab\r\n", "cd\r", "E\n", "\n", "F"]


def test_reading_a_log_holds_a_chunk_not_the_log_again() -> None:
    text = "kasus-1,start,2026-03-02T08:00:00+07:00\n" * 500_000  # 20 MB
    tracemalloc.start()
    try:
        tape, count = _Tape(text), 0
        for _ in tape:
            count += 1
            tape.taken.clear()  # as the reader does after every record
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 500_000
    # StringIO over the whole text held 80 MB (four bytes a character); a chunk about 5 MB.
    assert peak < 12 * 1024 * 1024
