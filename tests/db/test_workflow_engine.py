"""The workflow engine on SQLite and PostgreSQL: transitions, refusals, attribution, races."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from db.engine import read_session, write_session
from db.models import Case, Event, Visit, VisitUnit
from services.accounts import SYSTEM
from services.errors import (
    ConcurrentAction,
    InvalidInput,
    InvalidTime,
    InvalidTransition,
    PermissionDenied,
    ServiceError,
)
from services.settings import set_decisions_on_behalf
from services.workflow import engine as wf
from services.workflow.model import Performer
from tests.organisation import NOW, Organisation, wib


def start(org: Organisation, sop: str = "penyusunan-lkj", by: str = "fungsional",
          at=None, **kwargs: Any) -> wf.Recorded:
    with write_session(org.engine) as session:
        return wf.start_case(session, actor=org.actor(by), sop_code=sop,
                             title=kwargs.pop("title", "Penyusunan LKj Tahun 2025"),
                             at=at or wib(2026, 3, 2, 8, 0), now=NOW, **kwargs)


def act(org: Organisation, by: str, kind: str, case_id: int, seq: int, at, **kwargs: Any):
    with write_session(org.engine) as session:
        return wf.record_step(session, actor=org.actor(by), case_id=case_id, kind=kind, seq=seq,
                              at=at, now=kwargs.pop("now", NOW), **kwargs)


def visits(org: Organisation, case_id: int) -> list[tuple]:
    with read_session(org.engine) as session:
        return [tuple(row) for row in session.execute(
            select(Visit.seq, Visit.pass_no, Visit.outcome).where(Visit.case_id == case_id)
            .order_by(Visit.id))]


def case_row(org: Organisation, case_id: int) -> Case:
    with read_session(org.engine) as session:
        return session.get(Case, case_id)


def events(org: Organisation, case_id: int) -> list[Event]:
    with read_session(org.engine) as session:
        return list(session.scalars(select(Event).where(Event.case_id == case_id)
                                    .order_by(Event.event_no)))


def test_start_opens_step_one(org: Organisation) -> None:
    started = start(org)
    assert started.case_ref == "penyusunan-lkj-2026-001"
    assert (started.kind, started.status, started.next_seq, started.next_role) == (
        "start", "active", 1, "Sekretaris")
    assert visits(org, started.case_id) == [(1, 1, None)]
    assert start(org, title="Kasus kedua").case_ref == "penyusunan-lkj-2026-002"


def test_lkj_through_two_returns_at_one_decision_to_completion(org: Organisation) -> None:
    case = start(org).case_id
    t = wib(2026, 3, 2, 9, 0)
    steps = [
        ("sekretaris", "complete", 1, {}), ("fungsional", "complete", 2, {}),
        ("fungsional", "complete", 3, {}), ("fungsional", "approve", 4, {}),
        ("sekretaris", "return", 5, {"note": "Lampiran capaian belum lengkap"}),
        ("fungsional", "approve", 4, {}),
        ("sekretaris", "return", 5, {"note": "Masih ada salah ketik di Bab II"}),
        ("fungsional", "approve", 4, {}), ("sekretaris", "approve", 5, {}),
        ("kadis", "return", 6, {"note": "Perbaiki ringkasan eksekutif"}),
        ("sekretaris", "approve", 5, {}), ("kadis", "approve", 6, {}),
        ("sekretaris", "complete", 7, {}),
    ]
    for index, (user, kind, seq, extra) in enumerate(steps):
        recorded = act(org, user, kind, case, seq, t + timedelta(hours=index), **extra)
        assert recorded.status == "active"
    last = act(org, "fungsional", "complete", case, 8, t + timedelta(hours=len(steps)))
    assert (last.status, last.next_seq) == ("completed", None)
    assert visits(org, case) == [
        (1, 1, "complete"), (2, 1, "complete"), (3, 1, "complete"), (4, 1, "approve"),
        (5, 1, "return"), (4, 2, "approve"), (5, 2, "return"), (4, 3, "approve"),
        (5, 3, "approve"), (6, 1, "return"), (5, 4, "approve"), (6, 2, "approve"),
        (7, 1, "complete"), (8, 1, "complete"),
    ]
    row = case_row(org, case)
    assert (row.status, row.ended_at, row.last_event_no) == (
        "completed", t + timedelta(hours=len(steps)), 1 + len(steps) + 1)
    trail = events(org, case)
    assert [e.kind for e in trail].count("return") == 3
    assert trail[5].note == "Lampiran capaian belum lengkap"


def test_begin_marks_the_visit_once(org: Organisation) -> None:
    case = start(org).case_id
    act(org, "sekretaris", "begin", case, 1, wib(2026, 3, 2, 8, 30))
    with pytest.raises(InvalidTransition, match="sudah ditandai mulai"):
        act(org, "sekretaris", "begin", case, 1, wib(2026, 3, 2, 8, 40))
    act(org, "sekretaris", "complete", case, 1, wib(2026, 3, 2, 9, 0))
    with read_session(org.engine) as session:
        first = session.scalar(select(Visit).where(Visit.case_id == case, Visit.seq == 1))
    assert (first.begun_at, first.ended_at) == (wib(2026, 3, 2, 8, 30), wib(2026, 3, 2, 9, 0))


@pytest.mark.parametrize(
    ("kind", "seq", "extra", "error", "message"),
    [
        ("complete", 4, {}, InvalidTransition, "langkah keputusan"),
        ("return", 4, {}, InvalidInput, "Alasan pengembalian wajib diisi"),
        ("return", 4, {"note": "  "}, InvalidInput, "Alasan pengembalian wajib diisi"),
        ("complete", 2, {}, InvalidTransition, "langkah yang berjalan adalah langkah 4"),
        ("complete", 99, {}, InvalidInput, "tidak punya langkah 99"),
        ("approve", 4, {"note": "x" * 2001}, InvalidInput, "maksimal 2000"),
    ],
)
def test_impossible_actions_are_refused_and_change_nothing(
        org: Organisation, kind, seq, extra, error, message) -> None:
    case = start(org).case_id
    for index, (user, done) in enumerate([("sekretaris", 1), ("fungsional", 2), ("fungsional", 3)]):
        act(org, user, "complete", case, done, wib(2026, 3, 3, 8 + index))
    before = events(org, case)
    with pytest.raises(error, match=message):
        act(org, "fungsional", kind, case, seq, wib(2026, 3, 4, 9), **extra)
    assert len(events(org, case)) == len(before)
    assert visits(org, case)[-1] == (4, 1, None)


def test_plain_step_cannot_be_approved_or_returned(org: Organisation) -> None:
    case = start(org).case_id
    for kind, extra in (("approve", {}), ("return", {"note": "tidak setuju"})):
        with pytest.raises(InvalidTransition, match="Langkah 1 bukan langkah keputusan"):
            act(org, "sekretaris", kind, case, 1, wib(2026, 3, 2, 9), **extra)


def test_cancel_closes_the_open_visit_and_ends_the_case(org: Organisation) -> None:
    case = start(org).case_id
    act(org, "sekretaris", "complete", case, 1, wib(2026, 3, 2, 9))
    with pytest.raises(InvalidInput, match="Alasan pembatalan wajib diisi"):
        with write_session(org.engine) as session:
            wf.cancel_case(session, actor=org.actor("sekretaris"), case_id=case,
                           at=wib(2026, 3, 2, 10), reason="", now=NOW)
    with write_session(org.engine) as session:
        cancelled = wf.cancel_case(session, actor=org.actor("sekretaris"), case_id=case,
                                   at=wib(2026, 3, 2, 10), reason="Diganti kasus baru", now=NOW)
    assert cancelled.status == "cancelled"
    assert visits(org, case) == [(1, 1, "complete"), (2, 1, "closed")]
    row = case_row(org, case)
    assert (row.status, row.cancel_reason) == ("cancelled", "Diganti kasus baru")
    with pytest.raises(InvalidTransition, match="sudah dibatalkan"):
        act(org, "fungsional", "complete", case, 2, wib(2026, 3, 2, 11))


def test_only_allowed_users_cancel(org: Organisation) -> None:
    case = start(org, by="fungsional").case_id
    with pytest.raises(PermissionDenied, match="dibatalkan oleh Kadis"):
        with write_session(org.engine) as session:
            wf.cancel_case(session, actor=org.actor("arsiparis"), case_id=case,
                           at=wib(2026, 3, 2, 10), reason="Salah SOP", now=NOW)
    with write_session(org.engine) as session:  # the one who started it may
        wf.cancel_case(session, actor=org.actor("fungsional"), case_id=case,
                       at=wib(2026, 3, 2, 10), reason="Salah SOP", now=NOW)


def test_a_user_without_the_role_is_refused_by_the_service(org: Organisation) -> None:
    case = start(org).case_id
    act(org, "sekretaris", "complete", case, 1, wib(2026, 3, 2, 9))
    with pytest.raises(PermissionDenied, match="dilaksanakan oleh Fungsional"):
        act(org, "sekretaris", "complete", case, 2, wib(2026, 3, 2, 10))
    with pytest.raises(PermissionDenied, match="dilaksanakan oleh Fungsional"):
        act(org, "kadis", "complete", case, 2, wib(2026, 3, 2, 10))
    with pytest.raises(PermissionDenied, match="tidak berwenang memulainya"):
        start(org, by="kadis")  # step 1 is the Sekretaris's, and Kadis is no recorder


def test_recorder_records_on_behalf_and_both_are_kept(org: Organisation) -> None:
    case = start(org).case_id
    fungsional, sekretaris = org.actor("fungsional"), org.actor("sekretaris")
    act(org, "fungsional", "complete", case, 1, wib(2026, 3, 2, 9), performer="sekretaris")
    act(org, "fungsional", "complete", case, 2, wib(2026, 3, 2, 10),
        performer=Performer.UNKNOWN)  # role known, user not
    act(org, "fungsional", "complete", case, 3, wib(2026, 3, 2, 11))
    act(org, "fungsional", "approve", case, 4, wib(2026, 3, 2, 12))
    act(org, "fungsional", "approve", case, 5, wib(2026, 3, 2, 13), performer="sekretaris",
        decision_source="ND 12/SEKR/2026")
    trail = events(org, case)
    assert (trail[1].performer_user_id, trail[1].recorded_by_user_id) == (
        sekretaris.user_id, fungsional.user_id)
    assert (trail[2].performer_user_id, trail[2].recorded_by_user_id) == (None, fungsional.user_id)
    assert trail[3].performer_user_id == trail[3].recorded_by_user_id == fungsional.user_id
    assert (trail[5].performer_user_id, trail[5].recorded_by_user_id) == (
        sekretaris.user_id, fungsional.user_id)
    assert trail[5].details == {"dasar": "ND 12/SEKR/2026"}
    with pytest.raises(InvalidInput, match="tidak memegang peran Kadis"):
        act(org, "fungsional", "approve", case, 6, wib(2026, 3, 2, 14), performer="sekretaris")
    with pytest.raises(PermissionDenied):
        act(org, "arsiparis", "approve", case, 6, wib(2026, 3, 2, 14), performer="kadis")


def test_a_decision_for_someone_else_names_who_decided_and_the_document(
        org: Organisation) -> None:
    case = start(org).case_id
    for seq in (1, 2, 3):
        act(org, "fungsional", "complete", case, seq, wib(2026, 3, 2, 8 + seq),
            performer="sekretaris" if seq == 1 else Performer.RECORDER)
    act(org, "fungsional", "approve", case, 4, wib(2026, 3, 2, 12))  # the Fungsional's own
    at = wib(2026, 3, 2, 13)
    with pytest.raises(InvalidInput, match="pilih siapa yang memutuskan"):
        act(org, "fungsional", "approve", case, 5, at, performer=Performer.UNKNOWN,
            decision_source="ND 12/SEKR/2026")
    for source in (None, "  ", "x" * 201):
        with pytest.raises(InvalidInput, match="sebutkan dasarnya"):
            act(org, "fungsional", "return", case, 5, at, performer="sekretaris",
                note="kurang lampiran", decision_source=source)
    with write_session(org.engine) as session:
        set_decisions_on_behalf(session, actor=SYSTEM, allowed=False, now=NOW)
    with pytest.raises(PermissionDenied, match="tidak mengizinkan"):
        act(org, "fungsional", "approve", case, 5, at, performer="sekretaris",
            decision_source="ND 12/SEKR/2026")
    assert len(events(org, case)) == 5  # nothing of the refused decisions
    act(org, "sekretaris", "approve", case, 5, at)  # the decider records it: always allowed
    assert events(org, case)[-1].details is None
    with pytest.raises(PermissionDenied):
        with write_session(org.engine) as session:
            set_decisions_on_behalf(session, actor=org.actor("kadis"), allowed=True, now=NOW)


def test_event_times_may_be_past_but_not_future_nor_before_the_previous(org: Organisation) -> None:
    case = start(org, at=wib(2026, 3, 2, 8)).case_id
    with pytest.raises(InvalidTime, match="masa depan"):
        act(org, "sekretaris", "complete", case, 1, NOW + timedelta(minutes=5))
    with pytest.raises(InvalidTime, match="lebih awal dari kejadian sebelumnya"):
        act(org, "sekretaris", "complete", case, 1, wib(2026, 3, 2, 7, 59))
    recorded = act(org, "sekretaris", "complete", case, 1, wib(2026, 3, 2, 8))  # same instant
    assert recorded.at == wib(2026, 3, 2, 8)
    (_, first) = events(org, case)[:2]
    assert first.recorded_at == NOW and first.occurred_at == wib(2026, 3, 2, 8)
    with pytest.raises(InvalidTime, match="masa depan"):
        start(org, at=NOW + timedelta(hours=1))


def test_multi_unit_step_completes_when_every_bidang_has_submitted(org: Organisation) -> None:
    case = start(org, sop="pengumpulan-data-kinerja", by="fungsional",
                 title="Pengumpulan Data Kinerja Triwulan I").case_id
    act(org, "kadis", "complete", case, 1, wib(2026, 4, 1, 8))
    act(org, "fungsional", "complete", case, 2, wib(2026, 4, 1, 9))
    act(org, "layanan", "complete", case, 3, wib(2026, 4, 2, 9))
    assert visits(org, case)[-1] == (3, 1, None)
    with pytest.raises(PermissionDenied, match="unit Anda sendiri"):
        act(org, "layanan", "complete", case, 3, wib(2026, 4, 2, 10), unit_code="bidang-arsip")
    with pytest.raises(InvalidTransition, match="sudah menyerahkan"):
        act(org, "layanan", "complete", case, 3, wib(2026, 4, 2, 10))
    act(org, "fungsional", "complete", case, 3, wib(2026, 4, 3, 9), unit_code="bidang-arsip",
        performer=Performer.UNKNOWN)
    with read_session(org.engine) as session:
        outstanding = session.scalar(select(func.count()).select_from(VisitUnit).where(
            VisitUnit.submitted_at.is_(None)))
    assert outstanding == 1
    done = act(org, "deposit", "complete", case, 3, wib(2026, 4, 6, 9))
    assert (done.next_seq, done.next_role) == (4, "Fungsional")
    with read_session(org.engine) as session:
        step4 = session.scalar(select(Visit).where(Visit.case_id == case, Visit.seq == 4))
        step3 = session.scalar(select(Visit).where(Visit.case_id == case, Visit.seq == 3))
    assert step3.ended_at == step4.available_at == wib(2026, 4, 6, 9)
    assert [e.unit_id is not None for e in events(org, case)[3:]] == [True, True, True]


def test_scheduled_step_takes_its_due_date_from_the_case(org: Organisation) -> None:
    due = wib(2026, 3, 20, 16)
    case = start(org, sop="monev-kinerja-periodik", by="fungsional", title="Monev Triwulan I",
                 schedule={5: due}).case_id
    for index, (user, seq) in enumerate([("sekretaris", 1), ("monev", 2), ("fungsional", 3),
                                         ("monev", 4)]):
        act(org, user, "complete", case, seq, wib(2026, 3, 3, 8 + index))
    with read_session(org.engine) as session:
        visit = session.scalar(select(Visit).where(Visit.case_id == case, Visit.seq == 5))
    assert (visit.due_at, visit.target_minutes) == (due, None)
    with pytest.raises(InvalidInput, match="Langkah 2 tidak dijadwalkan"):
        start(org, sop="monev-kinerja-periodik", schedule={2: due})


def test_stale_visit_is_refused_instead_of_landing_on_the_next(org: Organisation) -> None:
    case = start(org).case_id
    with read_session(org.engine) as session:
        seen = session.scalar(select(Visit.id).where(Visit.case_id == case))
    act(org, "sekretaris", "complete", case, 1, wib(2026, 3, 2, 9), visit_id=seen)
    with pytest.raises(ConcurrentAction, match="baru saja dicatat oleh pengguna lain"):
        act(org, "fungsional", "complete", case, 1, wib(2026, 3, 2, 9), visit_id=seen)


def test_version_check_refuses_a_writer_that_saw_an_older_case(org: Organisation) -> None:
    """The database-side guard alone, without the row lock: a stale event number loses."""
    case = start(org).case_id
    with pytest.raises(ConcurrentAction):
        with write_session(org.engine) as session:
            row = session.get(Case, case)
            plan = wf.load_plan(session, version_id=row.sop_version_id)
            state = wf._state(session, row, plan)
            facts = state.apply(kind="complete", seq=1, at=wib(2026, 3, 2, 9), now=NOW,
                                recorder=None, performer=Performer.UNKNOWN)
            wf._store(session, case=row, state=state, facts=facts, now=NOW, role_id=None,
                      expected_event_no=0, details=None)
    assert len(events(org, case)) == 1


@pytest.mark.parametrize("round_", range(5))
def test_two_users_completing_the_same_visit_at_once_exactly_one_wins(
        org: Organisation, round_: int) -> None:
    case = start(org, title=f"Balapan {round_}").case_id
    with read_session(org.engine) as session:
        visit_id = session.scalar(select(Visit.id).where(Visit.case_id == case))
    barrier = threading.Barrier(2)
    outcomes: list[object] = []
    actors = {"sekretaris": org.actor("sekretaris"), "fungsional": org.actor("fungsional")}

    def attempt(username: str, minute: int) -> None:
        barrier.wait()
        try:
            with write_session(org.engine) as session:
                outcomes.append(wf.record_step(
                    session, actor=actors[username], case_id=case, kind="complete", seq=1,
                    at=wib(2026, 3, 2, 9, minute), visit_id=visit_id, now=NOW,
                    performer="sekretaris" if username == "fungsional" else Performer.RECORDER))
        except ServiceError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=attempt, args=(u, m))
               for u, m in (("sekretaris", 1), ("fungsional", 2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    wins = [o for o in outcomes if isinstance(o, wf.Recorded)]
    losses = [o for o in outcomes if isinstance(o, ServiceError)]
    assert len(wins) == 1 and len(losses) == 1, outcomes
    assert isinstance(losses[0], ConcurrentAction)
    assert [e.kind for e in events(org, case)] == ["start", "complete"]
    assert visits(org, case) == [(1, 1, "complete"), (2, 1, None)]
