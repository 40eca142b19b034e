"""The import's reader splits a log into the physical lines that io.StringIO(newline="")
would, a chunk at a time (services.eventlog._Tape), so the rows' numbers and the checks on
multi-line records are unchanged while the log is not held again at four bytes a character;
a record's lines are given back by their numbers, from the chunks still kept."""

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
    # Nothing was let go (keep_from stayed 1): every line comes back by its number.
    assert tape.lines(1, len(lines)) == lines
    assert [tape.lines(number, number) for number in range(1, len(lines) + 1)] == \
        [[line] for line in lines]


def test_a_record_s_lines_come_back_across_chunk_edges_and_older_chunks_are_let_go(
        monkeypatch) -> None:
    monkeypatch.setattr(eventlog, "TAPE_CHUNK", 4)
    text = "".join(f"line {number}\n" for number in range(1, 41))
    tape = _Tape(text)
    taken = iter(tape)
    for number in range(1, 31):  # as the reader does: the record being read starts at 28
        tape.keep_from = min(number, 28)
        assert next(taken) == f"line {number}\n"
    assert tape.lines(28, 30) == ["line 28\n", "line 29\n", "line 30\n"]
    assert tape.lines(1, 2) == []  # chunks before the record's first line are let go


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
            tape.keep_from = count + 1  # as the reader does before every record
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 500_000
    # StringIO over the whole text held 80 MB (four bytes a character); a chunk about 5 MB.
    assert peak < 12 * 1024 * 1024
