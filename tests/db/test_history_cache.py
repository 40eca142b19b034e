"""The kept history (services/history_cache.py) equals a full read of the database after
random writes, corrections, cancellations and calendar changes, in memory and from disk."""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from db.engine import read_session, write_session
from db.models import Case, Event
from services import dashboards
from services.accounts import SYSTEM
from services.calendar import wib_months
from services.calendar_admin import add_holiday
from services.history_cache import CACHE_DIR_ENV, HistoryCache, cache_directory
from services.metrics import (
    History,
    by_end,
    ended_since,
    month_sums,
    ns,
    period_as_of,
    read_history,
    running_part,
    scope,
    snapshot,
)
from services.organisation import list_units
from services.periods import PeriodChoice, month, quarter, year
from services.workflow import engine as wf
from services.workflow.model import Performer
from tests.db.test_workflow_engine import act, start
from tests.organisation import NOW, Organisation, wib

KEYS = {"ended": "visit_id", "running": "visit_id", "cases": "case_id",
        "units": ["visit_id", "unit_id"]}


def same_history(kept: History, full: History) -> None:
    # The ended visits in the same order too: the order they ended in, which snapshot and
    # ended_in read as slices.
    pd.testing.assert_frame_equal(kept.ended.reset_index(drop=True), full.ended, obj="ended")
    assert (full.ended["ended_ns"].diff().dropna() >= 0).all()
    for name, key in KEYS.items():
        ours = getattr(kept, name).sort_values(key).reset_index(drop=True)
        theirs = getattr(full, name).sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(ours, theirs, check_like=False, obj=name)
    assert kept.last_ns == full.last_ns


def partial_reads(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every read_history of the kept history from now on, as its `cases_where` (None: a
    full read)."""
    import services.history_cache as module

    reads: list[object] = []
    real = module.read_history

    def counting(session, **kwargs):  # type: ignore[no-untyped-def]
        reads.append(kwargs.get("cases_where"))
        return real(session, **kwargs)

    monkeypatch.setattr(module, "read_history", counting)
    return reads


def _step(org: Organisation, rng: random.Random, at) -> str:  # type: ignore[no-untyped-def]
    """One random write: advance, return, cancel or correct an open case; or start one."""
    with read_session(org.engine) as session:
        open_cases = list(session.scalars(select(Case.id).where(Case.status == "active")))
    if not open_cases or rng.random() < 0.2:
        start(org, at=at, title=f"Kasus {rng.randrange(10_000)}")
        return "start"
    case_id = rng.choice(open_cases)
    with write_session(org.engine) as session:
        form = wf._state(session, session.get(Case, case_id), wf.load_plan(  # noqa: SLF001
            session, version_id=session.get(Case, case_id).sop_version_id))
        visit = form.open_visit
        assert visit is not None
        step, kadis = visit.step, SYSTEM
        roll = rng.random()
        if roll < 0.08:
            wf.cancel_case(session, actor=kadis, case_id=case_id, at=at, reason="Tidak jadi",
                           now=NOW)
            return "cancel"
        last_kind = session.scalar(select(Event.kind).where(
            Event.case_id == case_id, Event.event_no == form.last_event_no))
        if roll < 0.16 and form.last_event_no > 1 and last_kind != "correction":
            wf.correct_event(session, actor=kadis, case_id=case_id,
                             event_no=form.last_event_no, reason="Salah ketik",
                             occurred_at=at - timedelta(minutes=rng.randrange(1, 4)), now=NOW)
            return "correct"
        if step.is_decision:
            kind = "return" if roll < 0.4 else "approve"
        else:
            kind = "complete"
        unit = None
        if step.multi_unit:
            unit = session.get(wf.Unit, next(iter(visit.units_pending))).code
        wf.record_step(session, actor=kadis, case_id=case_id, kind=kind, seq=step.seq, at=at,
                       performer=Performer.UNKNOWN, unit_code=unit,
                       note="Perlu diperbaiki" if kind == "return" else None, now=NOW)
        return kind


@pytest.mark.parametrize("write_behind", [False, True], ids=["stored-at-once", "write-behind"])
def test_the_kept_history_equals_a_full_read_after_every_kind_of_write(
        org: Organisation, tmp_path: Path, write_behind: bool) -> None:
    rng = random.Random(2026)
    url = str(org.engine.url)
    # write-behind: as the app keeps it, with the room made at each full read
    kept = HistoryCache(url=url, directory=tmp_path / "cache", write_behind=write_behind,
                        room_at_read=write_behind)
    done: list[str] = []
    at = wib(2026, 3, 2, 8)
    for round_ in range(40):
        at += timedelta(minutes=rng.randrange(5, 600))
        done.append(_step(org, rng, at))
        if round_ % 13 == 12:  # a new holiday changes every duration after it
            with write_session(org.engine) as session:
                add_holiday(session, actor=SYSTEM, day=date(2026, 3, 2) + timedelta(days=round_),
                            name="Cuti bersama", now=NOW)
            done.append("holiday")
        with read_session(org.engine) as session:
            full = read_history(session)
            got = kept.history(session)  # spliced while the previous store may still run
        # pandas' testing helpers silence a warning with warnings.catch_warnings, which is
        # not thread-safe: compared while the store thread ran, the silenced warning came
        # through once (an error here, pyproject.toml's filterwarnings).
        kept.flush()
        same_history(got, full)
    kept.flush()  # the app's copy is stored behind the page; wait for it
    with read_session(org.engine) as session:
        full = read_history(session)
        # a new process starts from the disk, and catches up from there
        same_history(HistoryCache(url=url, directory=tmp_path / "cache").history(session), full)
    assert {"start", "complete", "approve", "return", "cancel", "correct", "holiday"} <= set(done)


def test_only_the_cases_that_changed_are_read_again(org: Organisation, tmp_path: Path,
                                                    monkeypatch) -> None:  # type: ignore[no-untyped-def]
    first = start(org).case_id
    start(org, title="Kasus kedua")
    kept = HistoryCache(url=str(org.engine.url), directory=None)
    with read_session(org.engine) as session:
        kept.history(session)
    reads = partial_reads(monkeypatch)
    with write_session(org.engine) as session:
        wf.record_step(session, actor=SYSTEM, case_id=first, kind="complete", seq=1,
                       at=wib(2026, 3, 2, 9), performer=Performer.UNKNOWN, now=NOW)
    with read_session(org.engine) as session:
        kept.history(session)
        kept.history(session)  # nothing new: nothing read
    assert len(reads) == 1 and reads[0] is not None  # one partial read, of the changed case


def test_a_folder_that_cannot_be_written_costs_the_disk_copy_not_the_figures(
        org: Organisation, tmp_path: Path) -> None:
    start(org)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    kept = HistoryCache(url=str(org.engine.url), directory=blocked / "cache")
    with read_session(org.engine) as session:
        same_history(kept.history(session), read_history(session))


def test_the_metrics_command_reads_the_kept_history_with_the_same_figures(
        org: Organisation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`manage.py metrics --json` from a cold start (a full read, kept on disk), from the
    disk, and after a write (the changed case read again) prints what a full read prints."""
    import manage
    import services.history_cache as module

    rng = random.Random(13)
    at = wib(2026, 3, 2, 8)
    for _ in range(30):
        at += timedelta(minutes=rng.randrange(5, 600))
        _step(org, rng, at)
    url = org.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("PANTAU_DATABASE_URL", url)
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    reads: list[dict[str, object]] = []
    real = module.read_history

    def counting(session, **kwargs):  # type: ignore[no-untyped-def]
        reads.append(kwargs)
        return real(session, **kwargs)

    monkeypatch.setattr(module, "read_history", counting)

    def metrics() -> str:
        assert manage.main(["metrics", "--json", "--as-of", "2026-04-01T09:00:00+07:00"]) == 0
        return capsys.readouterr().out

    cold = metrics()
    assert len(reads) == 1 and "cases_where" not in reads[0]  # a full read ...
    assert (cache_directory(url) / "current").is_file()  # ... kept on disk
    assert metrics() == cold
    assert len(reads) == 1  # the second run read the disk, not the events
    assert json.loads(cold)["totals"]["cases"]["total"] > 0

    _step(org, rng, at + timedelta(hours=1))
    spliced = metrics()
    assert len(reads) == 2 and reads[1].get("cases_where") is not None
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "empty"))
    assert metrics() == spliced  # a cold run on the same data
    assert len(reads) == 3 and "cases_where" not in reads[2]


def test_init_leaves_the_history_on_disk_for_the_app_processes(
        org: Organisation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`manage.py init` runs before the server starts: afterwards a new process's history
    comes from the disk, reading no event, and equals a full read."""
    import manage
    import services.history_cache as module

    rng = random.Random(13)
    at = wib(2026, 3, 2, 8)
    for _ in range(15):
        at += timedelta(minutes=rng.randrange(5, 600))
        _step(org, rng, at)
    url = org.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("PANTAU_DATABASE_URL", url)
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    assert not cache_directory(url).exists()
    assert manage.main(["init"]) == 0
    assert "kunjungan disiapkan" in capsys.readouterr().out
    assert (cache_directory(url) / "current").is_file()

    reads: list[object] = []
    monkeypatch.setattr(module, "read_history",
                        lambda session, **kwargs: reads.append(kwargs))  # fails the test if used
    with read_session(org.engine) as session:
        loaded = HistoryCache(url=url, directory=cache_directory(url)).history(session)
    assert reads == []
    monkeypatch.undo()
    with read_session(org.engine) as session:
        same_history(loaded, read_history(session))
        assert len(loaded.ended) > 0


def test_a_restored_backup_with_fewer_events_is_read_again_in_full(
        org: Organisation, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The kept history of a database whose newest event is newer than the database's own
    (an older backup restored behind the same URL) is not used: the figures are read again."""
    from db.engine import make_engine
    from tests.organisation import build_organisation

    rng = random.Random(13)
    at = wib(2026, 3, 2, 8)
    for _ in range(10):
        at += timedelta(minutes=rng.randrange(5, 600))
        _step(org, rng, at)
    url = str(org.engine.url)
    with read_session(org.engine) as session:
        HistoryCache(url=url, directory=tmp_path / "cache").history(session)
    kind = "sqlite" if org.engine.dialect.name == "sqlite" else "postgres"
    restored = make_engine(request.getfixturevalue(f"{kind}_databases").fresh())
    older = build_organisation(restored)  # the same catalog, units and users; fewer events
    start(older, title="Satu-satunya kasus")
    with read_session(restored) as session:
        full = read_history(session)
        assert len(full.cases) == 1
        same_history(HistoryCache(url=url, directory=tmp_path / "cache").history(session), full)
    restored.dispose()


def test_the_app_stores_a_burst_of_writes_once_after_the_burst(
        org: Organisation, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import services.history_cache as module

    stored: list[int] = []
    real = module._store  # noqa: SLF001

    def counting(directory, history, stamp):  # type: ignore[no-untyped-def]
        stored.append(stamp.last_event_id)
        real(directory, history, stamp)

    monkeypatch.setattr(module, "_store", counting)
    case_id = start(org).case_id
    url = str(org.engine.url)
    # An hour's delay: were flush to wait it out, the test's own time limit would fail it.
    kept = HistoryCache(url=url, directory=tmp_path / "cache", write_behind=True,
                        store_delay=3600)
    with read_session(org.engine) as session:
        kept.history(session)
    for seq, hour in ((1, 9), (2, 10)):
        with write_session(org.engine) as session:
            wf.record_step(session, actor=SYSTEM, case_id=case_id, kind="complete", seq=seq,
                           at=wib(2026, 3, 2, hour), performer=Performer.UNKNOWN, now=NOW)
        with read_session(org.engine) as session:
            kept.history(session)
    assert stored == []  # nothing stored while the burst goes on
    kept.flush()
    with read_session(org.engine) as session:
        full = read_history(session)
        assert stored == [kept._stamp.last_event_id]  # noqa: SLF001  (once, the newest)
        same_history(HistoryCache(url=url, directory=tmp_path / "cache").history(session), full)


@pytest.mark.parametrize(("room_rows", "room_at_read"), [(4096, True), (4096, False), (1, True)],
                         ids=["room-to-spare", "room-at-first-write", "room-outgrown"])
def test_steps_recorded_live_are_appended_in_place_and_earlier_histories_stay_as_read(
        org: Organisation, room_rows: int, room_at_read: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A visit ended live is written after the kept ones, in the arrays they are kept in
    (history_cache._Room): the next history shares them instead of copying every visit. A
    page still reading an earlier history reads what it read, and the spliced history
    equals a full read, also when the space runs out and the visits move to a larger room."""
    import services.history_cache as module

    monkeypatch.setattr(module, "ROOM_ROWS", room_rows)
    order_checks: list[int] = []
    diff = np.diff
    monkeypatch.setattr(np, "diff", lambda *args, **kwargs: order_checks.append(1) or diff(
        *args, **kwargs))
    cases = [start(org, title=f"Kasus {n}").case_id for n in range(3)]
    early = start(org, title="Kasus awal").case_id
    with write_session(org.engine) as session:  # one visit ended before the history is read
        wf.record_step(session, actor=SYSTEM, case_id=early,
                       kind="complete", seq=1, at=wib(2026, 3, 2, 8, 30),
                       performer=Performer.UNKNOWN, now=NOW)
    kept = HistoryCache(url=str(org.engine.url), directory=None, room_at_read=room_at_read)
    with read_session(org.engine) as session:
        first = kept.history(session)
    seen: list[tuple[History, pd.DataFrame]] = []  # each history, and a copy of its visits
    for hour, case_id in zip(range(9, 15), cases * 2, strict=True):
        seq = 1 if hour < 12 else 2
        with write_session(org.engine) as session:
            wf.record_step(session, actor=SYSTEM, case_id=case_id, kind="complete", seq=seq,
                           at=wib(2026, 3, 2, hour), performer=Performer.UNKNOWN, now=NOW)
        with read_session(org.engine) as session:
            history = kept.history(session)
            same_history(history, read_history(session))
        # known to be in end order as appended: no page reads its order again
        order_checks.clear()
        assert by_end(history.ended) is history.ended and not order_checks
        seen.append((history, history.ended.copy(deep=True)))
    for history, as_read in seen:
        pd.testing.assert_frame_equal(history.ended, as_read)
    assert [len(history.ended) for history, _ in seen] == [2, 3, 4, 5, 6, 7]

    def same_arrays(one: History, other: History) -> bool:
        return np.shares_memory(one.ended["ended_ns"].to_numpy(),
                                other.ended["ended_ns"].to_numpy())

    # With room_at_read (the app), the room is made when the history is read in full and the
    # first write appends to it; without, the first write makes it.
    assert same_arrays(first, seen[0][0]) is room_at_read
    shared = [same_arrays(earlier, later)
              for (earlier, _), (later, _) in itertools.pairwise(seen)]
    # With room to spare, every append shares the arrays; with a row of room, every other
    # one finds the room full and moves to a larger one (one row more than it holds).
    assert shared == ([True] * 5 if room_rows > 1 else [False, True, False, True, False])


def test_the_running_part_of_a_full_history_is_what_a_running_read_reads(
        org: Organisation) -> None:
    """The sidebar's count takes what is running from the kept history (running_part) or
    reads it alone (read_history running_only): the same frames, after every kind of write."""
    # Step 3 of this SOP is submitted per unit: one case past it (the units of an ended
    # visit), one in it (of an open visit).
    for title, units_by in (("Selesai per unit", ("layanan", "fungsional", "deposit")),
                            ("Sebagian unit", ("layanan",))):
        case_id = start(org, sop="pengumpulan-data-kinerja", title=title).case_id
        act(org, "kadis", "complete", case_id, 1, wib(2026, 3, 2, 9))
        act(org, "fungsional", "complete", case_id, 2, wib(2026, 3, 2, 10))
        for hour, user in enumerate(units_by, start=11):
            act(org, user, "complete", case_id, 3, wib(2026, 3, 2, hour),
                **({"unit_code": "bidang-arsip", "performer": Performer.UNKNOWN}
                   if user == "fungsional" else {}))
    rng = random.Random(7)
    at = wib(2026, 3, 3, 8)
    for round_ in range(40):
        if round_:
            at += timedelta(minutes=rng.randrange(5, 600))
            _step(org, rng, at)
        with read_session(org.engine) as session:
            full = read_history(session)
            part = running_part(full)
            alone = read_history(session, running_only=True)
        same_history(part, alone)
        if not round_:
            assert 0 < len(alone.units) < len(full.units)
    assert len(alone.running) > 0 and len(alone.cases) > 0


def test_the_history_if_kept_splices_new_events_but_never_reads_everything(
        org: Organisation, monkeypatch: pytest.MonkeyPatch) -> None:
    """history_if_kept (the sidebar's reader): None before the history is kept, after a
    change that needs a full read (a holiday) and after more new events than a light splice
    takes, without reading; a few new events spliced in, as `history` splices them; None
    while another thread holds the history."""
    import services.history_cache as module

    case_id = start(org).case_id
    kept = HistoryCache(url=str(org.engine.url), directory=None)
    reads = partial_reads(monkeypatch)
    with read_session(org.engine) as session:
        assert kept.history_if_kept(session) is None and reads == []
        kept.history(session)
    with write_session(org.engine) as session:
        wf.record_step(session, actor=SYSTEM, case_id=case_id, kind="complete", seq=1,
                       at=wib(2026, 3, 2, 9), performer=Performer.UNKNOWN, now=NOW)
    with read_session(org.engine) as session:
        spliced = kept.history_if_kept(session)
        assert spliced is not None and len(reads) == 2 and reads[1] is not None
        same_history(spliced, read_history(session))  # the real one, not counted
        assert kept.history(session) is spliced  # the dashboards find it current
        with kept._lock:  # noqa: SLF001  (a dashboard's run splicing or reading meanwhile)
            assert kept.history_if_kept(session) is None
    monkeypatch.setattr(module, "LIGHT_SPLICE_EVENTS", 0)  # as after an import
    with write_session(org.engine) as session:
        wf.record_step(session, actor=SYSTEM, case_id=case_id, kind="complete", seq=2,
                       at=wib(2026, 3, 2, 10), performer=Performer.UNKNOWN, now=NOW)
    with read_session(org.engine) as session:
        assert kept.history_if_kept(session) is None
    monkeypatch.setattr(module, "LIGHT_SPLICE_EVENTS", 500)
    with write_session(org.engine) as session:
        add_holiday(session, actor=SYSTEM, day=date(2026, 3, 3), name="Cuti bersama", now=NOW)
    with read_session(org.engine) as session:
        assert kept.history_if_kept(session) is None  # the holiday: a full read
    assert len(reads) == 2


@pytest.mark.parametrize("room_at_read", [True, False], ids=["app", "command"])
def test_the_history_on_disk_is_written_by_batches_and_read_a_column_at_a_time(
        org: Organisation, tmp_path: Path, room_at_read: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk copy is turned into Arrow memory a batch of rows at a time, and a process
    loads it a column at a time, each into its place (with room_at_read, the room itself):
    never the whole history twice over. What comes back is a full read's history."""
    import pyarrow as pa

    import services.history_cache as module

    monkeypatch.setattr(module, "STORE_BATCH_ROWS", 2)
    cases = [start(org, title=f"Kasus {n}").case_id for n in range(3)]
    for hour, case_id in zip(range(9, 15), cases * 2, strict=True):
        with write_session(org.engine) as session:
            wf.record_step(session, actor=SYSTEM, case_id=case_id, kind="complete",
                           seq=1 if hour < 12 else 2, at=wib(2026, 3, 2, hour),
                           performer=Performer.UNKNOWN, now=NOW)
    with read_session(org.engine) as session:
        HistoryCache(url=str(org.engine.url), directory=tmp_path).history(session)
    folder = module._current(tmp_path)
    assert folder is not None
    assert pa.ipc.open_file(str(folder / "ended.feather")).num_record_batches == 3  # 6 rows

    columns_read: list[list[str] | None] = []
    read_table = module.feather.read_table

    def one_read(path, columns=None, **kwargs):  # type: ignore[no-untyped-def]
        columns_read.append(columns)
        return read_table(path, columns=columns, **kwargs)

    monkeypatch.setattr(module.feather, "read_table", one_read)
    reads = partial_reads(monkeypatch)
    loaded = HistoryCache(url=str(org.engine.url), directory=tmp_path, room_at_read=room_at_read)
    with read_session(org.engine) as session:
        history = loaded.history(session)
        same_history(history, read_history(session))
    assert reads == []  # loaded from the disk, not read from the database
    assert columns_read and all(columns is not None and len(columns) == 1
                                for columns in columns_read)
    assert len(columns_read) == sum(len(getattr(history, name).columns)
                                    for name in ("ended", "running", "cases", "units"))
    room = loaded._room
    assert (room is not None) is room_at_read
    if room is not None:  # the frame is a view of the room, with space after its rows
        assert np.shares_memory(history.ended["ended_ns"].to_numpy(), room.arrays["ended_ns"])
        assert len(room.arrays["ended_ns"]) > len(history.ended) == 6


def test_the_month_sums_kept_through_writes_equal_a_full_recomputation(
        org: Organisation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random writes over three months, corrections that move a step's end into the next
    month among them, and a calendar change: the month sums a page reads, spliced with each
    write, equal those summed again from a full read; and every Dasbor and Hambatan figure
    read from them equals the same figure grouped from the visits."""
    rng = random.Random(41)
    kept = HistoryCache(url=str(org.engine.url), directory=tmp_path / "cache",
                        room_at_read=True)
    at, done, carried = wib(2026, 3, 27, 8), [], 0
    for round_ in range(45):
        at += timedelta(minutes=rng.randrange(60, 3600))
        done.append(_step(org, rng, at))
        if round_ == 20:  # a holiday changes every duration after it: read and summed afresh
            with write_session(org.engine) as session:
                add_holiday(session, actor=SYSTEM, day=date(2026, 4, 14), name="Cuti bersama",
                            now=NOW)
            done.append("holiday")
        with read_session(org.engine) as session:
            full = read_history(session)
            got = kept.history(session)
        carried += "month_sums" in got.__dict__  # spliced from the sums of the round before
        pd.testing.assert_frame_equal(got.month_sums, month_sums(full.ended))
    assert {"correct", "holiday"} <= set(done) and carried >= 30
    assert len(got.month_sums["month"].unique()) >= 3
    # summed a few rows at a time (as ten million events are), a month across chunks added up
    import services.metrics as metrics

    monkeypatch.setattr(metrics, "_SUM_CHUNK_ROWS", 3)
    pd.testing.assert_frame_equal(month_sums(full.ended), got.month_sums)

    now = at + timedelta(days=1)
    periods = [month(date(2026, 3, 1)), month(date(2026, 4, 1)), month(date(2026, 5, 1)),
               quarter(date(2026, 4, 1)), year(2026)]
    with read_session(org.engine) as session:
        unit_ids = [unit.id for unit in list_units(session)]
    assert set(got.ended["unit_id"]) < set(unit_ids)  # a unit without visits among them
    compared = []
    for period in periods:
        for state in (snapshot(got, as_of=period_as_of(period, now=now)),
                      snapshot(got, as_of=period_as_of(period.previous(), now=now))):
            for narrowed in (state, scope(state, sop_codes=["penyusunan-lkj"]),
                             *(scope(state, unit_id=unit_id) for unit_id in unit_ids),
                             ended_since(state, period.chart_months()[0].bounds()[0])):
                compared += _same_figures_with_and_without_the_sums(narrowed, period)
    # a range of days is not whole months: grouped from the visits, and the same
    days = PeriodChoice("rentang", date(2026, 4, 3), date(2026, 4, 20))
    state = snapshot(got, as_of=period_as_of(days, now=now))
    assert state.sums is not None and state.sums.within(days.bounds()) is None
    compared += _same_figures_with_and_without_the_sums(state, days)
    # Two empty tables prove little (a unit without visits): most had figures in them.
    assert sum(compared) >= 0.5 * len(compared)


def _same_figures_with_and_without_the_sums(state, period) -> list[bool]:  # type: ignore[no-untyped-def]
    """Compares the figures read from the sums (where they hold the period) with the same
    figures grouped from the visits; tells, of each table, whether it had rows."""
    plain = replace(state, sums=None)
    start, end = (ns(bound) for bound in period.bounds())
    if period.kind != "rentang" and end <= ns(state.as_of) and start >= state.sums.since_ns:
        # the sums hold the period whole, so they are what the figures below read
        assert state.sums.within(period.bounds()) is not None
    assert dashboards.tiles(state, state, period=period) == \
        dashboards.tiles(plain, plain, period=period)
    months = period.chart_months()
    tables = [
        (dashboards.compliance_by_sop(state, period=period),
         dashboards.compliance_by_sop(plain, period=period)),
        (dashboards.compliance_by_month(state, months=months),
         dashboards.compliance_by_month(plain, months=months)),
        (dashboards.overrun_heatmap(state, code="penyusunan-lkj", months=months),
         dashboards.overrun_heatmap(plain, code="penyusunan-lkj", months=months)),
        (dashboards.returns_pareto(state, code="penyusunan-lkj", period=period),
         dashboards.returns_pareto(plain, code="penyusunan-lkj", period=period))]
    for ours, theirs in tables:
        pd.testing.assert_frame_equal(ours, theirs)
    return [len(theirs) > 0 for _, theirs in tables]


def test_a_step_recorded_now_sums_again_only_the_month_it_ended_in(
        org: Organisation, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The case's earlier visits ended in March and are unchanged: only April is summed."""
    import services.metrics as module

    case_id = start(org, at=wib(2026, 3, 2, 8)).case_id
    with write_session(org.engine) as session:
        wf.record_step(session, actor=SYSTEM, case_id=case_id, kind="complete", seq=1,
                       at=wib(2026, 3, 9, 9), performer=Performer.UNKNOWN, now=NOW)
    kept = HistoryCache(url=str(org.engine.url), directory=None)
    with read_session(org.engine) as session:
        assert set(kept.history(session).month_sums["month"]) == {_month(2026, 3)}
    summed: list[set[int]] = []
    real = module.month_sums

    def spying(ended: pd.DataFrame) -> pd.DataFrame:
        summed.append(set(wib_months(ended["ended_ns"].to_numpy()).tolist()))
        return real(ended)

    monkeypatch.setattr(module, "month_sums", spying)
    with write_session(org.engine) as session:
        wf.record_step(session, actor=SYSTEM, case_id=case_id, kind="complete", seq=2,
                       at=wib(2026, 4, 6, 10), performer=Performer.UNKNOWN, now=NOW)
    with read_session(org.engine) as session:
        got = kept.history(session)
        full = read_history(session)
    assert summed == [{_month(2026, 4)}]
    pd.testing.assert_frame_equal(got.month_sums, real(full.ended))
    assert set(got.month_sums["month"]) == {_month(2026, 3), _month(2026, 4)}


def _month(year_: int, month_: int) -> int:
    return (year_ - 1970) * 12 + month_ - 1
