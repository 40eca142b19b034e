"""Event-log CSV import and export, XES export."""

from __future__ import annotations

import csv
import gc
import io
import os
import sqlite3
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text

from db.engine import make_engine, read_session, write_session
from db.models import Case, Event, Unit, Visit
from services.accounts import SYSTEM
from services.eventlog import (
    COLUMNS,
    LogRejected,
    _csv_cell,
    _csv_row,
    export_event_csv,
    export_xes,
    import_event_csv,
    parse_event_csv,
)
from services.formatting import WIB
from services.metrics import compute_metrics, metrics_json
from services.workflow.replay import replay, reserve_ids
from tests.db.test_metrics import AS_OF, _log
from tests.organisation import NOW, Organisation, build_organisation, wib

HEADER = ",".join(COLUMNS)
GOOD = [
    "K1,penyusunan-lkj,,,start,2026-03-02T08:00:00+07:00,Fungsional,,fungsional,fungsional,"
    '"Penyusunan LKj 2025\nperiode: 2025"',
    "K1,penyusunan-lkj,,1,complete,2026-03-02 09:00,Sekretaris,,sekretaris,fungsional,",
    "K1,penyusunan-lkj,,2,complete,2026-03-02 10:00,Fungsional,,fungsional,,",
]


def csv_bytes(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


def event_count(org: Organisation) -> int:
    with read_session(org.engine) as session:
        return session.scalar(select(func.count()).select_from(Event))


def import_csv(org: Organisation, data: bytes):
    with write_session(org.engine) as session:
        return import_event_csv(session, data=data, actor=SYSTEM, now=NOW)


def test_good_file_imports_cases_visits_and_attribution(org: Organisation) -> None:
    result = import_csv(org, csv_bytes(*GOOD))
    assert (result.cases, result.events) == (1, 3)
    with read_session(org.engine) as session:
        case = session.scalar(select(Case))
        assert (case.ref, case.title, case.period_label, case.status) == (
            "K1", "Penyusunan LKj 2025", "2025", "active")
        visits = session.execute(select(Visit.seq, Visit.outcome).order_by(Visit.id)).all()
        assert [tuple(v) for v in visits] == [(1, "complete"), (2, "complete"), (3, None)]
        step1 = session.scalar(select(Event).where(Event.event_no == 2))
        assert step1.performer_user_id != step1.recorded_by_user_id  # recorded on behalf


def test_a_cancelled_case_keeps_its_reason_and_an_ended_one_has_none(
        org: Organisation) -> None:
    """The reason is the cancel row's note, as the app's cancel form stores it."""
    import_csv(org, csv_bytes(*_cancelled_cases("C0"), *GOOD))
    with read_session(org.engine) as session:
        cases = {ref: (status, reason) for ref, status, reason in session.execute(
            select(Case.ref, Case.status, Case.cancel_reason))}
    assert cases.pop("C0") == ("cancelled", "Dibatalkan")
    assert cases and all(reason is None for _, reason in cases.values())


@pytest.mark.parametrize(
    ("rows", "line", "reason"),
    [
        ([GOOD[0], "K1,sop-tidak-ada,,1,complete,2026-03-02 09:00,,,,,"], 3,
         "kasus 'K1' memakai SOP 'penyusunan-lkj', bukan 'sop-tidak-ada'"),
        (["K9,sop-tidak-ada,,,start,2026-03-02 09:00,,,,,Judul"], 2,
         "SOP 'sop-tidak-ada' tidak ada di katalog"),
        ([GOOD[0], "K1,penyusunan-lkj,,2,complete,2026-03-02 09:00,,,,,"], 3,
         "Langkah 2 tidak sedang berjalan; langkah yang berjalan adalah langkah 1"),
        ([*GOOD[:2], "K1,penyusunan-lkj,,2,complete,2999-01-01 09:00,,,,,"], 4, "masa depan"),
        ([*GOOD[:2], "K1,penyusunan-lkj,,2,complete,2026-03-02 08:30,,,,,"], 4,
         "lebih awal dari kejadian sebelumnya"),
        ([GOOD[0], "K1,penyusunan-lkj,,1,selesai,2026-03-02 09:00,,,,,"], 3,
         "event 'selesai' tidak dikenal"),
        ([GOOD[0], "K1,penyusunan-lkj,,1,complete,kemarin,,,,,"], 3, "bukan waktu ISO 8601"),
        (["K2,penyusunan-lkj,,1,complete,2026-03-02 09:00,,,,,"], 2, "belum dimulai"),
        ([GOOD[0], "K1,penyusunan-lkj,,1,complete,2026-03-02 09:00,Kadis,,,,"], 3,
         "dilaksanakan oleh Sekretaris, bukan Kadis"),
        ([GOOD[0], "K1,penyusunan-lkj,,1,complete,2026-03-02 09:00,,,sekretaris,arsiparis,"], 3,
         "'arsiparis' tidak berwenang mencatat atas nama orang lain"),
        ([GOOD[0], GOOD[0]], 3, "sudah dimulai di baris sebelumnya"),
        ([GOOD[0], "K1,penyusunan-lkj,,x,complete,2026-03-02 09:00,,,,,"], 3, "step 'x'"),
        # What the forms refuse, the import refuses too (services.workflow.model).
        (["K3,penyusunan-lkj,,,start,2026-03-02 08:00,,,,,X"], 2,
         "Judul kasus wajib diisi, 3 sampai 200 karakter (tertulis 1)"),
        (["K3,penyusunan-lkj,,,start,2026-03-02 08:00,,,,,"], 2, "Judul kasus wajib diisi"),
        ([f'K3,penyusunan-lkj,,,start,2026-03-02 08:00,,,,,"Judul\nperiode: {"x" * 60}"'], 2,
         "Periode terlalu panjang: 60 karakter, maksimal 40"),
        ([GOOD[0], f"K1,penyusunan-lkj,,1,complete,2026-03-02 09:00,,,,,{'c' * 2001}"], 3,
         "Catatan terlalu panjang: 2001 karakter, maksimal 2000"),
        ([GOOD[0], "K1,penyusunan-lkj,,,cancel,2026-03-02 09:00,,,,,"], 3,
         "Alasan pembatalan wajib diisi"),
        ([GOOD[0], "K1,penyusunan-lkj,,,cancel,2026-03-02 09:00,,,arsiparis,arsiparis,Salah"],
         3, "hanya dapat dibatalkan oleh Kadis, Sekretaris, admin, atau yang memulainya"),
        (["K3,penyusunan-lkj,,,start,2026-03-02 08:00,,,kadis,kadis,Judul"], 2,
         "'kadis' tidak berwenang memulainya"),
    ],
)
def test_bad_rows_are_rejected_with_their_line_and_nothing_is_written(
        org: Organisation, rows, line, reason) -> None:
    with pytest.raises(LogRejected) as caught:
        import_csv(org, csv_bytes(*rows))
    assert caught.value.line == line
    assert reason in str(caught.value)
    assert str(caught.value).startswith(f"Baris {line}: ")
    assert event_count(org) == 0


NOTED = [
    'N1,pengumpulan-data-kinerja,,,start,2026-03-02T08:00:00+07:00,Fungsional,,fungsional,'
    'fungsional,"Pengumpulan Data Kinerja TW I\nperiode: 2026-TW1\nDimulai dari disposisi\n'
    'Sekretaris, dua baris"',
    "N1,pengumpulan-data-kinerja,,1,complete,2026-03-02T09:00:00+07:00,Kadis,,kadis,fungsional,"
    "Disposisi diterima",
    "N1,pengumpulan-data-kinerja,,2,complete,2026-03-02T10:00:00+07:00,Fungsional,,fungsional,"
    'fungsional,"Surat ke Bidang, dengan ""kutip"""',
    "N1,pengumpulan-data-kinerja,,3,complete,2026-03-03T09:00:00+07:00,Bidang,bidang-arsip,"
    "arsip,arsip,Data arsip",
    "N1,pengumpulan-data-kinerja,,3,complete,2026-03-03T10:00:00+07:00,Bidang,bidang-layanan,"
    ",fungsional,Dari Nota Dinas",
    "N2,e-kinerja,,,start,2026-03-04T08:00:00+07:00,Kadis,,kadis,kadis,e-Kinerja Maret",
    "N2,e-kinerja,,,cancel,2026-03-04T09:00:00+07:00,Sekretaris,,sekretaris,sekretaris,"
    "Salah SOP",
]


def test_export_import_export_is_byte_identical_and_keeps_every_note(
        org: Organisation, sqlite_databases) -> None:
    import_csv(org, csv_bytes(*NOTED))
    exported = _export(org)
    for note in ("Dimulai dari disposisi\nSekretaris, dua baris", "Disposisi diterima",
                 'Surat ke Bidang, dengan ""kutip""', "Dari Nota Dinas", "Salah SOP"):
        assert note in exported
    other = build_organisation(make_engine(sqlite_databases.fresh()))
    import_csv(other, exported.encode("utf-8"))
    assert _export(other) == exported
    with read_session(other.engine) as session:
        start = session.scalar(select(Event).where(Event.kind == "start", Event.case_id == select(
            Case.id).where(Case.ref == "N1").scalar_subquery()))
    assert start.note == "Dimulai dari disposisi\nSekretaris, dua baris"
    other.engine.dispose()


def test_line_numbers_are_spreadsheet_rows(org: Organisation) -> None:
    """A quoted multi-line note is one row in a spreadsheet; an empty line is a row too."""
    rows = [GOOD[0], 'K1,penyusunan-lkj,,1,complete,2026-03-02 09:00,,,,,"dua\nbaris"', "",
            "K1,penyusunan-lkj,,9,complete,2026-03-02 10:00,,,,,"]
    with pytest.raises(LogRejected, match="^Baris 5: SOP Penyusunan Laporan Kinerja tidak punya"):
        import_csv(org, csv_bytes(*rows))  # header 1, start 2, step 1 at 3, empty 4, bad row 5


def test_people_without_an_account_are_kept_as_the_log_names_them(org: Organisation) -> None:
    rows = [GOOD[0], "K1,penyusunan-lkj,,1,complete,2026-03-02 09:00,Sekretaris,,bu.ani,pak.budi,",
            "K1,penyusunan-lkj,,2,complete,2026-03-02 10:00,Fungsional,,pak.budi,bu.ani,",
            "K1,penyusunan-lkj,,3,complete,2026-03-02 11:00,Fungsional,,fungsional,bu.ani,"]
    import_csv(org, csv_bytes(*rows))
    with read_session(org.engine) as session:
        events = list(session.scalars(select(Event).where(Event.event_no > 1)
                                      .order_by(Event.event_no)))
    assert (events[0].performer_user_id, events[0].recorded_by_user_id) == (None, None)
    # each pair of names as its own event gave it, though one JSON text serves each pair
    assert [event.details for event in events] == [
        {"names": {"performer": "bu.ani", "recorded_by": "pak.budi"}},
        {"names": {"performer": "pak.budi", "recorded_by": "bu.ani"}},
        {"names": {"recorded_by": "bu.ani"}}]
    assert events[2].performer_user_id == org.actor("fungsional").user_id is not None
    assert _export(org).splitlines()[3].endswith(",Sekretaris,,bu.ani,pak.budi,")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.none() | st.integers(-5, 20) | st.text(st.sampled_from('ab ,"\n\r\t;\'é\u2028'),
                                                       max_size=6), min_size=2, max_size=5))
def test_a_cell_is_written_as_the_csv_module_writes_it(values: list) -> None:
    """The export writes its lines itself, a name quoted once per chunk; every line must still
    be the one the csv module writes."""
    assert ",".join(map(_csv_cell, values)) + "\n" == _csv_row(values)


def test_names_and_notes_with_commas_quotes_and_line_breaks_export_as_the_csv_module_writes(
        org: Organisation) -> None:
    rows = [GOOD[0], 'K1,penyusunan-lkj,,1,complete,2026-03-02 09:00,Sekretaris,,"Ani, S.Sos",'
                     '"Budi ""Ucok""","catatan, dengan ""kutip""\nbaris dua"']
    import_csv(org, csv_bytes(*rows))
    exported = _export(org)
    rewritten = io.StringIO()
    csv.writer(rewritten, lineterminator="\n").writerows(csv.reader(io.StringIO(exported)))
    assert exported == rewritten.getvalue()
    assert (',Sekretaris,,"Ani, S.Sos","Budi ""Ucok""","catatan, dengan ""kutip""\nbaris dua"\n'
            in exported)


def test_missing_column_bad_encoding_and_empty_file(org: Organisation) -> None:
    with pytest.raises(LogRejected, match="^Baris 1: kolom wajib tidak ada: recorded_by, note"):
        import_csv(org, b"case_id,sop_code,sop_version,step,event,timestamp,performer_role,"
                        b"unit,performer\n")
    latin1 = csv_bytes(GOOD[0]).replace(b"Penyusunan LKj", "Penyusunan LKj \u00e9".encode("latin-1"))
    with pytest.raises(LogRejected, match="^Baris 2: berkas bukan teks UTF-8"):
        import_csv(org, latin1)
    with pytest.raises(LogRejected, match="^Baris 1: berkas kosong"):
        import_csv(org, b"")
    assert event_count(org) == 0


def test_case_already_in_the_database_is_rejected(org: Organisation) -> None:
    import_csv(org, csv_bytes(*GOOD))
    with pytest.raises(LogRejected, match="^Baris 2: kasus 'K1' sudah ada di basis data"):
        import_csv(org, csv_bytes(*GOOD))
    assert event_count(org) == 3


def test_only_an_admin_imports(org: Organisation) -> None:
    from services.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        with write_session(org.engine) as session:
            import_event_csv(session, data=csv_bytes(*GOOD), actor=org.actor("fungsional"), now=NOW)


def _export(org: Organisation) -> str:
    out = io.StringIO()
    with read_session(org.engine) as session:
        export_event_csv(session, out=out)
    return out.getvalue()


def test_exported_log_reimports_to_the_same_metrics(org: Organisation, sqlite_databases) -> None:
    with write_session(org.engine) as session:
        replay(session, events=_log(), actor=SYSTEM, now=NOW)
    import_csv(org, csv_bytes(*GOOD))  # adds attribution, a period and a second SOP
    exported = _export(org)
    assert exported.splitlines()[0] == ",".join(COLUMNS)
    other = build_organisation(make_engine(sqlite_databases.fresh()))
    result = import_csv(other, exported.encode("utf-8"))
    assert result.events == 17 + 3
    with read_session(org.engine) as session:
        original = metrics_json(compute_metrics(session, as_of=NOW))
    with read_session(other.engine) as session:
        again = metrics_json(compute_metrics(session, as_of=NOW))
    assert again == original
    assert _export(other) == exported
    other.engine.dispose()


@pytest.mark.parametrize(("period", "cases"), [
    ((wib(2025, 2, 5), wib(2025, 2, 6)), {"A": 11}),
    # D started before the period and went on in it: exported whole, start row included
    ((wib(2025, 2, 6, 7, 30), wib(2025, 2, 7)), {"D": 2, "B": 2}),
    ((wib(2025, 3, 1), wib(2025, 4, 1)), {}),
])
def test_a_period_exports_the_whole_cases_with_an_event_in_it(
        org: Organisation, period, cases: dict[str, int]) -> None:
    with write_session(org.engine) as session:
        replay(session, events=_log(), actor=SYSTEM, now=NOW)
    out = io.StringIO()
    with read_session(org.engine) as session:
        written = export_event_csv(session, out=out, period=period)
        traces = export_xes(session, out=io.StringIO(), period=period)
    rows = out.getvalue().splitlines()[1:]
    assert Counter(row.split(",")[0] for row in rows) == cases
    assert written == len(rows) == sum(cases.values())
    assert traces == len(cases)


def test_xes_has_one_trace_per_case_and_an_event_per_begin_and_visit_end(
        org: Organisation) -> None:
    with write_session(org.engine) as session:
        replay(session, events=_log(), actor=SYSTEM, now=NOW)
    out = io.StringIO()
    with read_session(org.engine) as session:
        traces = export_xes(session, out=out)
    root = ET.fromstring(out.getvalue())
    ns = {"x": "http://www.xes-standard.org/"}
    found = root.findall("x:trace", ns)
    assert traces == len(found) == 4
    by_case = {t.find("x:string[@key='concept:name']", ns).get("value"): t for t in found}
    events = by_case["A"].findall("x:event", ns)
    lifecycle = Counter(e.find("x:string[@key='lifecycle:transition']", ns).get("value")
                        for e in events)
    assert lifecycle == {"complete": 9, "start": 1}
    first = events[0]
    assert first.find("x:string[@key='concept:name']", ns).get("value").startswith(
        "1. Menerima surat dari Sekda")
    assert first.find("x:date[@key='time:timestamp']", ns).get("value") == \
        "2025-02-03T08:10:00.000+07:00"
    assert first.find("x:string[@key='org:role']", ns).get("value") == "Kadis"
    outcomes = [e.find("x:string[@key='pantau:outcome']", ns) for e in events]
    assert [o.get("value") for o in outcomes if o is not None].count("return") == 1
    assert by_case["C"].findall("x:event", ns) == []  # the cancelled case's visit is not a completion
    assert AS_OF  # same log as the metrics test


def test_a_bad_line_after_batches_were_flushed_still_leaves_nothing(
        org: Organisation, monkeypatch) -> None:
    import services.workflow.replay as replay_module

    monkeypatch.setattr(replay_module, "FLUSH_EVENTS", 2)  # write after every finished case
    rows = [*_cancelled_cases("C0", "C1", "C2"), "C1,e-kinerja,,1,complete,2026-03-02 10:00,,,,,"]
    with pytest.raises(LogRejected, match="^Baris 8: kasus 'C1' sudah dibatalkan pada baris"):
        import_csv(org, csv_bytes(*rows))
    assert event_count(org) == 0
    result = import_csv(org, csv_bytes(*rows[:-1]))
    assert (result.cases, result.events) == (3, 6)


def _cancelled_cases(*refs: str) -> list[str]:
    rows = []
    for ref in refs:
        rows += [f"{ref},e-kinerja,,,start,2026-03-02 08:00,,,,,Kasus {ref}",
                 f"{ref},e-kinerja,,,cancel,2026-03-02 09:00,,,,,Dibatalkan"]
    return rows


def _reading(data: bytes, line_read: threading.Event, line: int):
    """The events of `data`, `line_read` set once the replay has taken `line`."""
    for event in parse_event_csv(data):
        if event.line == line:
            line_read.set()
        yield event


def test_a_batch_is_stored_while_the_replay_reads_on(org: Organisation, monkeypatch) -> None:
    """The first batch (case C0, lines 2-3) is stored on the writer's thread: its store can
    still be running when the replay reads line 4. Stored before reading on, it never is."""
    import services.workflow.replay as replay_module

    monkeypatch.setattr(replay_module, "FLUSH_EVENTS", 2)
    line_read, seen_while_storing = threading.Event(), []
    store = replay_module._store

    def store_waiting_for_line_4(session, batch):
        if not seen_while_storing:
            seen_while_storing.append(line_read.wait(timeout=30))
        return store(session, batch)

    monkeypatch.setattr(replay_module, "_store", store_waiting_for_line_4)
    data = csv_bytes(*_cancelled_cases("C0", "C1"))
    with write_session(org.engine) as session:
        result = replay(session, events=_reading(data, line_read, 4), actor=SYSTEM, now=NOW)
    assert seen_while_storing == [True]
    assert (result.cases, result.events) == (2, 4) and event_count(org) == 4


def test_the_error_of_a_batch_being_stored_comes_before_a_later_lines_error(
        org: Organisation, monkeypatch) -> None:
    """Case X is already stored, so the first batch (lines 2-3) is refused; line 4 is bad too.
    The replay reads line 4 before that batch's check ends, and still reports line 2, as
    storing each batch before reading on did."""
    import services.workflow.replay as replay_module

    import_csv(org, csv_bytes(*_cancelled_cases("X")))
    monkeypatch.setattr(replay_module, "FLUSH_EVENTS", 2)
    line_read, existing_refs = threading.Event(), replay_module._existing_refs

    def existing_refs_after_line_4(session, refs):
        assert line_read.wait(timeout=30)
        return existing_refs(session, refs)

    monkeypatch.setattr(replay_module, "_existing_refs", existing_refs_after_line_4)
    data = csv_bytes(*_cancelled_cases("X"), "Y,e-kinerja,,1,complete,2026-03-02 10:00,,,,,")
    with pytest.raises(LogRejected, match="^Baris 2: kasus 'X' sudah ada di basis data"), \
            write_session(org.engine) as session:
        replay(session, events=_reading(data, line_read, 4), actor=SYSTEM, now=NOW)
    assert event_count(org) == 2


def test_a_plan_is_never_loaded_while_a_batch_is_being_stored(
        org: Organisation, monkeypatch) -> None:
    """The session is one thread's at a time: line 4 starts a case of an SOP not read yet
    while the first batch is being stored, and its plan is read after that store ends."""
    import services.workflow.replay as replay_module

    monkeypatch.setattr(replay_module, "FLUSH_EVENTS", 2)
    storing, line_read, loaded_while_storing = threading.Event(), threading.Event(), []
    flush, load_plan = replay_module._flush, replay_module.load_plan

    def slow_flush(session, batch) -> int:
        storing.set()
        line_read.wait(timeout=30)
        time.sleep(0.3)  # time for a plan read to overlap, were it not held back
        stored = flush(session, batch)
        storing.clear()
        return stored

    def watched_load_plan(session, *, version_id):
        loaded_while_storing.append(storing.is_set())
        return load_plan(session, version_id=version_id)

    def events():
        for event in parse_event_csv(csv_bytes(*_cancelled_cases("C0"), *GOOD)):
            if event.line == 4:  # the first batch is being stored by now
                assert storing.wait(timeout=30)
                line_read.set()
            yield event

    monkeypatch.setattr(replay_module, "_flush", slow_flush)
    monkeypatch.setattr(replay_module, "load_plan", watched_load_plan)
    with write_session(org.engine) as session:
        result = replay(session, events=events(), actor=SYSTEM, now=NOW)
    assert loaded_while_storing == [False, False]  # e-kinerja at line 2, penyusunan-lkj at 4
    assert result.events == 5 and event_count(org) == 5


def test_the_plans_a_log_names_are_read_before_the_replay_reads_on(
        org: Organisation, monkeypatch) -> None:
    """So that reading on never waits for a batch being stored to read a plan: every plan the
    log names is read before the first row goes through the rules, though penyusunan-lkj first
    appears at line 4 and e-kinerja version 1 at line 7."""
    import services.workflow.replay as replay_module

    rows_applied, rows_applied_at_each_plan = [0], []
    apply, load_plan = replay_module._apply, replay_module.load_plan

    def counted_apply(event, cases, lookups, now):
        rows_applied[0] += 1
        return apply(event, cases, lookups, now)

    def watched_load_plan(session, *, version_id):
        rows_applied_at_each_plan.append(rows_applied[0])
        return load_plan(session, version_id=version_id)

    monkeypatch.setattr(replay_module, "_apply", counted_apply)
    monkeypatch.setattr(replay_module, "load_plan", watched_load_plan)
    result = import_csv(org, csv_bytes(*_cancelled_cases("C0"), *GOOD,
                                       "C9,e-kinerja,1,,start,2026-03-02 08:00,,,,,Versi 1"))
    assert (result.cases, result.events, rows_applied[0]) == (3, 6, 6)
    assert rows_applied_at_each_plan == [0, 0, 0]  # e-kinerja, penyusunan-lkj, e-kinerja 1


def test_the_first_pass_runs_in_another_process_while_the_rows_are_read_on(
        org: Organisation, monkeypatch, tmp_path) -> None:
    """The units and plans a log names are found beside the parent's reading, on the other
    core; what it finds is what the replay uses (the log's new unit is created)."""
    import services.eventlog as eventlog_module

    named_in_log = eventlog_module.named_in_log
    where = tmp_path / "first-pass-pid"

    def recorded(text: str):
        where.write_text(str(os.getpid()))
        return named_in_log(text)

    monkeypatch.setattr(eventlog_module, "named_in_log", recorded)
    row = GOOD[2].split(",")
    row[7] = "Bidang Baru"
    result = import_csv(org, csv_bytes(*GOOD[:2], ",".join(row)))
    assert (result.cases, result.events) == (1, 3)
    assert int(where.read_text()) != os.getpid()
    with read_session(org.engine) as session:
        assert session.scalar(select(Unit.kind).where(Unit.name == "Bidang Baru")) == "bidang"


def test_the_rows_read_ahead_of_the_first_pass_are_bounded(org: Organisation,
                                                          monkeypatch) -> None:
    """A log ten times larger has a first pass ten times longer: what is read meanwhile is
    held in memory, so it stops at READ_AHEAD_EVENTS (here 2) however long the pass takes."""
    import services.eventlog as eventlog_module
    import services.workflow.replay as replay_module

    named_in_log, parse_row, apply = (eventlog_module.named_in_log, eventlog_module._row,
                                      replay_module._apply)
    rows_read, rows_read_at_first_rule = [0], []

    def slow_first_pass(text: str):
        time.sleep(1.0)
        return named_in_log(text)

    def counted_row(row, line, position):
        rows_read[0] += 1
        return parse_row(row, line, position)

    def watched_apply(event, cases, lookups, now):
        rows_read_at_first_rule.append(rows_read[0])
        return apply(event, cases, lookups, now)

    monkeypatch.setattr(eventlog_module, "named_in_log", slow_first_pass)
    monkeypatch.setattr(eventlog_module, "_row", counted_row)
    monkeypatch.setattr(replay_module, "_apply", watched_apply)
    monkeypatch.setattr(eventlog_module, "READ_AHEAD_EVENTS", 2)
    monkeypatch.setattr(eventlog_module, "_READ_AHEAD_STRIDE", 1)
    result = import_csv(org, csv_bytes(*_cancelled_cases("C0"), *GOOD))
    assert (result.cases, result.events) == (2, 5)
    assert rows_read_at_first_rule[0] <= 2


@pytest.mark.parametrize("first_pass", ["dies", "cannot-fork"])
def test_without_a_first_pass_process_the_import_reads_it_itself(
        org: Organisation, monkeypatch, first_pass: str) -> None:
    """A child killed (for memory, say), or a system that cannot fork: the same import."""
    import multiprocessing

    import services.eventlog as eventlog_module

    if first_pass == "dies":
        monkeypatch.setattr(eventlog_module, "_first_pass_child",
                            lambda text, sending: os._exit(1))
    else:
        monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    result = import_csv(org, csv_bytes(*GOOD))
    assert (result.cases, result.events) == (1, 3)


def test_a_row_the_strict_reading_refuses_comes_before_an_earlier_rows_bad_field(
        org: Organisation) -> None:
    """The whole file is read strictly before anything goes through the rules: a bad
    timestamp at row 3 is read ahead while the first pass runs, but the row of the wrong width
    at row 5 is the refusal, as when the first pass ran before any reading on."""
    bad_time = GOOD[1].replace("2026-03-02 09:00", "kemarin")
    with pytest.raises(LogRejected) as refused:
        import_csv(org, csv_bytes(GOOD[0], bad_time, GOOD[2], "K2,penyusunan-lkj"))
    assert refused.value.line == 5 and "kolom" in refused.value.reason
    with pytest.raises(LogRejected) as refused:
        import_csv(org, csv_bytes(GOOD[0], bad_time, GOOD[2]))
    assert refused.value.line == 3 and "timestamp" in refused.value.reason
    assert event_count(org) == 0


def test_the_bulk_insert_stores_exactly_what_core_stores(org: Organisation, request) -> None:
    """The import writes rows by few statements of values converted by the columns' own
    types (services.workflow.replay._insert: on SQLite multi-row VALUES statements, here as
    many rows as 40 parameters allow, so that the events of 15 columns take a full statement
    of two rows and a partial one; on PostgreSQL a COPY), not row by row through Core: the
    stored text of every column is the same, instants in any offset, JSON, None and text
    that JSON escapes included."""
    from datetime import timedelta, timezone

    from sqlalchemy import insert, text

    from db.engine import driver_connection
    from db.models import Sop, SopVersion
    from services.workflow.replay import _insert

    kind = "sqlite" if org.engine.dialect.name == "sqlite" else "postgres"
    other = make_engine(request.getfixturevalue(f"{kind}_databases").fresh())
    build_organisation(other)
    wita = timezone(timedelta(hours=8))
    with read_session(org.engine) as session:
        version_id = session.scalar(select(SopVersion.id).join(Sop)
                                    .where(Sop.code == "penyusunan-lkj"))
    case = {"id": 7, "ref": "K-7", "sop_version_id": version_id, "unit_id": None,
            "title": "Uji «salin»", "period_label": None, "status": "completed",
            "started_at": NOW, "ended_at": NOW.astimezone(wita) + timedelta(microseconds=5),
            "cancel_reason": None, "created_by_user_id": None, "last_event_no": 2,
            "last_event_at": NOW.astimezone(wita)}
    events = [{"id": 70 + no, "case_id": 7, "event_no": no, "kind": "complete", "step_seq": 1,
               "visit_id": None, "unit_id": None, "occurred_at": NOW + timedelta(seconds=no),
               # in UTC, as the log's rows are read (the conversion's own path for it)
               "recorded_at": NOW.astimezone(UTC) + timedelta(microseconds=3),
               "performer_role_id": None, "performer_user_id": None,
               "recorded_by_user_id": None, "note": note, "details": details}
              for no, note, details in ((1, None, None), (2, "catatan\nbaris 2", {"names": {
                  "performer": "Bu Ani"}}), (3, 'garis \\ miring, "kutip"\ttab \U0001F600'
                                                '\u2028akhir \u00e9\r\n', {"names": {
                      "performer": "Bu Ani «Ü»", "recorded_by": 'Pak "B" \\'}}))]
    with write_session(org.engine) as session:
        session.connection().execute(insert(Case), [case])
        session.connection().execute(insert(Event), events)
    with write_session(other) as session:
        if kind == "sqlite":
            driver_connection(session.connection()).setlimit(
                sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 40)
        instants: dict = {}
        _insert(session, Case, [case], instants)
        _insert(session, Event, events, instants)

    def stored(engine, table: str) -> list[tuple]:
        with read_session(engine) as session:
            columns = [row[0] for row in session.execute(text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = :t "
                "ORDER BY column_name"), {"t": table})] if kind == "postgres" else sorted(
                row[1] for row in session.execute(text(f"PRAGMA table_info({table})")))
            casts = ", ".join(f"CAST({column} AS TEXT)" for column in columns)
            return [tuple(row) for row in session.execute(text(
                f"SELECT {casts} FROM {table} ORDER BY id"))]

    for table in ("sop_case", "event"):
        assert stored(other, table) == stored(org.engine, table)
    assert len(stored(other, "event")) == 3
    with write_session(other) as session, pytest.raises(ValueError, match="status"):
        _insert(session, Case, [{k: v for k, v in case.items() if k != "status"}], {})
    # a naive instant is refused here as UTCDateTime refuses it through Core
    with write_session(other) as session, pytest.raises(ValueError, match="naive"):
        _insert(session, Case, [{**case, "id": 8, "ref": "K-8",
                                 "started_at": NOW.replace(tzinfo=None)}], {})
    other.dispose()


def test_instants_are_written_by_sqlalchemys_own_conversion_when_they_differ() -> None:
    """The bulk insert's one-step text for an instant stands in for SQLAlchemy's conversion
    on SQLite only while it writes the same text. Were SQLAlchemy's to change, its own is
    used."""
    from datetime import datetime

    from services.workflow.replay import _utc_text

    def other_text(value):
        return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S")

    def local_naive(value):  # not UTC
        return None if value is None else value.astimezone(WIB).replace(tzinfo=None)

    def naive_utc_datetime(value):  # not text (PostgreSQL's: COPY writes instants itself)
        return datetime(2024, 1, 8, 3, 26, 31, 5)

    for other in (other_text, local_naive, naive_utc_datetime):
        assert _utc_text(other) is other

    def sqlalchemys(value):
        return "2024-01-08 03:26:31.000005"

    fast = _utc_text(sqlalchemys)
    assert fast is not sqlalchemys
    assert fast(wib(2026, 3, 2, 8, 15)) == "2026-03-02 01:15:00.000000"
    assert fast(wib(2026, 3, 2, 8, 15).astimezone(UTC)) == "2026-03-02 01:15:00.000000"
    assert fast(datetime(2026, 3, 2, 1, 15, 0, 7, tzinfo=UTC)) == "2026-03-02 01:15:00.000007"
    assert fast(None) is None


def test_a_logs_instants_are_read_in_utc_as_the_same_instants() -> None:
    """The rules compare each row's time with `now` (UTC) and with the case's last event:
    instants of one offset compare without converting, so the log's are read in UTC."""
    log = csv_bytes(GOOD[0], "K1,penyusunan-lkj,,1,begin,2026-03-02T08:15:00+07:00,,,,,",
                    "K1,penyusunan-lkj,,1,complete,2026-03-02T10:15:00+08:00,,,,,")
    start, begin, complete = parse_event_csv(log)
    assert [event.at.tzinfo for event in (start, begin, complete)] == [UTC] * 3
    assert begin.at == wib(2026, 3, 2, 8, 15)
    assert complete.at == wib(2026, 3, 2, 9, 15)


def test_the_replay_reads_its_events_with_the_cycle_collector_paused(org: Organisation) -> None:
    collector_on_while_reading: list[bool] = []

    def events():
        for event in _log():
            collector_on_while_reading.append(gc.isenabled())
            yield event

    assert gc.isenabled()
    with write_session(org.engine) as session:
        result = replay(session, events=events(), actor=SYSTEM, now=NOW)
    assert result.events == len(collector_on_while_reading) > 0
    assert not any(collector_on_while_reading)
    assert gc.isenabled()
    # and on again after a log that is refused half way
    with pytest.raises(LogRejected), write_session(org.engine) as session:
        import_event_csv(session, data=csv_bytes(GOOD[0], "K1,penyusunan-lkj,,99,complete,"
                                                           "2026-03-02 09:00,,,,,"),
                         actor=SYSTEM, now=NOW)
    assert gc.isenabled()



@pytest.mark.postgres
def test_an_import_leaves_the_planner_the_sizes_of_the_tables_it_grew(
        postgres_engine: Engine) -> None:
    """Measured in the import's transaction: without it, the first page after a 1M-event
    import found the newest events by scanning all of them (the planner had never measured
    the table). A load of a few rows into a large table leaves it to autovacuum."""
    from db.engine import analyze_grown_tables

    build_organisation(postgres_engine)
    tables = ("sop_case", "visit", "event")

    def sizes() -> dict[str, tuple[float, int]]:
        with read_session(postgres_engine) as session:
            return {table: (session.scalar(text(
                "SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}),
                session.scalar(text(f"SELECT count(*) FROM {table}"))) for table in tables}

    assert all(measured < 0 for measured, _ in sizes().values())  # never measured
    with write_session(postgres_engine) as session:
        import_event_csv(session, data=csv_bytes(*GOOD, GOOD[0].replace("K1", "K2")),
                         actor=SYSTEM, now=NOW)
    after = sizes()
    assert all(measured == rows > 0 for measured, rows in after.values()), after
    with write_session(postgres_engine) as session:
        session.execute(text("UPDATE pg_class SET reltuples = 1000000 "
                             "WHERE oid = to_regclass('event')"))
        assert analyze_grown_tables(session, {"event": 99_000, "visit": 60}) == ["visit"]
        assert analyze_grown_tables(session, {"event": 100_050, "nothing": 5}) == ["event"]
        assert analyze_grown_tables(session, {"event": 0}) == []


@pytest.mark.postgres
@pytest.mark.parametrize("step", [1, 3])
def test_the_ids_reserved_are_those_the_sequence_hands_out(postgres_engine: Engine,
                                                           step: int) -> None:
    """In one run (step 1, read as the run's two ends), or apart (step 3, as when another
    writer's nextval comes between two of the import's: read one by one)."""
    with write_session(postgres_engine) as session:
        session.execute(text(f"ALTER SEQUENCE event_id_seq INCREMENT BY {step}"))
        ids = list(reserve_ids(session, Event, 4))
        last = session.scalar(text("SELECT last_value FROM event_id_seq"))
    assert ids == [last - 3 * step, last - 2 * step, last - step, last]
