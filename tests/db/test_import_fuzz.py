"""A damaged event log never half-imports and never escapes as a traceback: hypothesis cuts,
shuffles, garbles and opens quotes in a real exported log; each import either stores all of it,
one event per data row, or raises a ServiceError that names a row, and then nothing is stored.
Exported logs replay to the same metrics (the round trip as a property over subsets of
cases)."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from db.engine import make_engine, read_session, write_session
from db.models import Case, Event
from services.accounts import SYSTEM
from services.errors import ServiceError
from services.eventlog import COLUMNS, export_event_csv, import_event_csv
from services.metrics import compute_metrics, metrics_json
from services.workflow.replay import EVENT_KINDS, replay
from tests.db.test_metrics import AS_OF, _log
from tests.organisation import NOW, build_organisation

EXAMPLES = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    """(an organisation without cases, the same with the hand-made log, that log as CSV)."""
    directory = tmp_path_factory.mktemp("fuzz")
    empty, full = directory / "empty.db", directory / "full.db"
    engine = make_engine(f"sqlite:///{empty}")
    build_organisation(engine)
    engine.dispose()
    shutil.copyfile(empty, full)
    engine = make_engine(f"sqlite:///{full}")
    with write_session(engine) as session:
        replay(session, events=_log(), actor=SYSTEM, now=NOW)
    with read_session(engine) as session:
        out = io.StringIO()
        export_event_csv(session, out=out)
    engine.dispose()
    return empty, full, out.getvalue().encode("utf-8")


def counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with read_session(engine) as session:
        result = (session.scalar(select(func.count()).select_from(Case)) or 0,
                  session.scalar(select(func.count()).select_from(Event)) or 0)
    engine.dispose()
    return result


def try_import(url: str, data: bytes) -> ServiceError | None:
    engine = make_engine(url)
    try:
        with write_session(engine) as session:
            import_event_csv(session, data=data, actor=SYSTEM, now=NOW)
    except ServiceError as refusal:
        return refusal
    finally:
        engine.dispose()
    return None


damage = st.one_of(
    st.tuples(st.just("drop"), st.integers(0, 200)),
    st.tuples(st.just("swap"), st.integers(0, 200)),
    st.tuples(st.just("garble"), st.integers(0, 5000), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("truncate"), st.integers(0, 5000)),
    st.tuples(st.just("duplicate"), st.integers(0, 200)),
    st.tuples(st.just("quote"), st.integers(0, 5000)),
)


def damaged(data: bytes, steps: list[tuple]) -> bytes:
    for step in steps:
        lines = data.split(b"\n")
        if step[0] == "drop" and len(lines) > 1:
            del lines[step[1] % len(lines)]
        elif step[0] == "swap" and len(lines) > 2:
            i = step[1] % (len(lines) - 1)
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
        elif step[0] == "duplicate" and lines:
            i = step[1] % len(lines)
            lines.insert(i, lines[i])
        data = b"\n".join(lines)
        if step[0] == "garble" and data:
            i = step[1] % len(data)
            data = data[:i] + step[2] + data[i + len(step[2]):]
        elif step[0] == "truncate":
            data = data[:step[1] % (len(data) + 1)]
        elif step[0] == "quote":  # a quote typed by hand, most often left open
            i = step[1] % (len(data) + 1)
            data = data[:i] + b'"' + data[i:]
    return data


def data_rows(data: bytes) -> int:
    """Physical lines that are each a whole data row, counted without the csv module's merging
    of the lines inside a quote (the record boundaries are what a damaged file gets wrong)."""
    lines = io.StringIO(data.decode("utf-8-sig"), newline="")
    cells = (next(csv.reader([line.rstrip("\r\n")]), []) for line in lines)
    return sum(1 for row in cells if len(row) == len(COLUMNS) and row[0].strip()
               and row[4].strip().lower() in EVENT_KINDS)


@EXAMPLES
@given(steps=st.lists(damage, min_size=1, max_size=4))
# Offset 148 of the exported log is where the note of its first row begins: a quote opened
# there swallowed the rows up to the next quote into that note, and the import said "Diimpor".
@example(steps=[("quote", 148)])
def test_a_damaged_log_is_all_or_nothing(databases, tmp_path_factory, steps) -> None:
    empty, _full, log = databases
    target = tmp_path_factory.mktemp("import") / "target.db"
    shutil.copyfile(empty, target)
    url = f"sqlite:///{target}"
    data = damaged(log, steps)
    refusal = try_import(url, data)
    cases, events = counts(url)
    event("refused" if refusal is not None else "imported")
    if refusal is not None:
        assert str(refusal) and (cases, events) == (0, 0), str(refusal)
    else:  # whatever survived the damage was a valid log: whole cases, each with its start,
        assert events >= cases  # and no data row swallowed into another's field
        assert events == data_rows(data)


@EXAMPLES
@given(keep=st.sets(st.sampled_from("ABCD"), min_size=1))
def test_an_exported_log_replays_to_the_same_metrics(databases, tmp_path_factory,
                                                     keep) -> None:
    empty, _full, _log_csv = databases
    source = tmp_path_factory.mktemp("source") / "source.db"
    shutil.copyfile(empty, source)
    engine = make_engine(f"sqlite:///{source}")
    with write_session(engine) as session:
        replay(session, events=[e for e in _log() if e.case_ref in keep], actor=SYSTEM, now=NOW)
    with read_session(engine) as session:
        expected = metrics_json(compute_metrics(session, as_of=AS_OF))
        out = io.StringIO()
        export_event_csv(session, out=out)
    engine.dispose()
    copy = tmp_path_factory.mktemp("copy") / "copy.db"
    shutil.copyfile(empty, copy)
    assert try_import(f"sqlite:///{copy}", out.getvalue().encode("utf-8")) is None
    engine = make_engine(f"sqlite:///{copy}")
    with read_session(engine) as session:
        assert metrics_json(compute_metrics(session, as_of=AS_OF)) == expected
    engine.dispose()
