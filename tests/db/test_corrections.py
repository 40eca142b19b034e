"""Correction events: the original stays, the correction references it, the figures follow."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from db.engine import read_session, write_session
from db.models import Case, Event, Visit
from services.errors import InvalidInput, PermissionDenied
from services.eventlog import export_event_csv
from services.metrics import compute_metrics
from services.workflow import engine as wf
from tests.db.test_workflow_engine import act, start
from tests.organisation import NOW, Organisation, wib


def correct(org: Organisation, by: str, event: tuple[int, int], **kwargs):
    case_id, event_no = event
    with write_session(org.engine) as session:
        return wf.correct_event(session, actor=org.actor(by), case_id=case_id,
                                event_no=event_no, now=NOW, **kwargs)


def event_id(org: Organisation, case: int, event_no: int) -> tuple[int, int]:
    return case, event_no


def database_id(org: Organisation, case: int, event_no: int) -> int:
    with read_session(org.engine) as session:
        return session.scalar(select(Event.id).where(Event.case_id == case,
                                                     Event.event_no == event_no))


def exported(org: Organisation) -> list[str]:
    out = io.StringIO()
    with read_session(org.engine) as session:
        export_event_csv(session, out=out)
    return out.getvalue().splitlines()


@pytest.fixture
def case(org: Organisation) -> int:
    case = start(org, at=wib(2025, 2, 3, 8)).case_id
    act(org, "sekretaris", "complete", case, 1, wib(2025, 2, 3, 9), note="ND 12/SEKR")
    act(org, "fungsional", "complete", case, 2, wib(2025, 2, 3, 11))
    return case


def test_time_of_the_latest_event_is_corrected_and_everything_follows(
        org: Organisation, case: int) -> None:
    step2 = event_id(org, case, 3)
    recorded = correct(org, "fungsional", step2, occurred_at=wib(2025, 2, 3, 10),
                       reason="Salah tulis jam dari Buku Agenda")
    assert recorded.kind == "correction"
    with read_session(org.engine) as session:
        original = session.get(Event, database_id(org, case, 3))
        assert original.occurred_at == wib(2025, 2, 3, 11)  # the original is untouched
        visits = session.execute(select(Visit.seq, Visit.available_at, Visit.ended_at)
                                 .where(Visit.case_id == case).order_by(Visit.id)).all()
        assert visits[1].ended_at == visits[2].available_at == wib(2025, 2, 3, 10)
        assert session.get(Case, case).last_event_at == wib(2025, 2, 3, 10)
        correction = session.scalar(select(Event).where(Event.kind == "correction"))
        assert correction.corrects_event_id == original.id
        metrics = compute_metrics(session, as_of=NOW)
    lkj = next(s for s in metrics.sops if s.code == "penyusunan-lkj")
    assert lkj.steps[1].duration_median == 60.0  # 09:00 -> 10:00, not 11:00
    assert exported(org)[3].split(",")[5] == "2025-02-03T10:00:00+07:00"
    assert len(exported(org)) == 4  # the correction is applied, not exported as an event
    # The next event may now be dated from 10:00.
    act(org, "fungsional", "complete", case, 3, wib(2025, 2, 3, 10, 30))


def test_note_of_an_earlier_event_is_corrected(org: Organisation, case: int) -> None:
    step1 = event_id(org, case, 2)
    correct(org, "sekretaris", step1, note="ND 21/SEKR", reason="Nomor ND tertukar")
    assert exported(org)[2].endswith(",ND 21/SEKR")
    with read_session(org.engine) as session:
        assert session.get(Event, database_id(org, case, 2)).note == "ND 12/SEKR"


def test_time_of_an_earlier_event_cannot_be_corrected(org: Organisation, case: int) -> None:
    with pytest.raises(InvalidInput, match="hanya dapat dikoreksi pada kejadian terakhir"):
        correct(org, "sekretaris", event_id(org, case, 2), occurred_at=wib(2025, 2, 3, 8, 30),
                reason="Jam salah")


@pytest.mark.parametrize(("at", "message"), [
    (wib(2025, 2, 3, 8, 30), "lebih awal dari kejadian sebelumnya"),
    (wib(2099, 1, 1), "masa depan"),
])
def test_corrected_time_keeps_the_order_and_is_not_in_the_future(
        org: Organisation, case: int, at, message) -> None:
    with pytest.raises(Exception, match=message):
        correct(org, "fungsional", event_id(org, case, 3), occurred_at=at, reason="Jam salah")


def test_only_the_recorder_or_an_admin_corrects(org: Organisation, case: int) -> None:
    step2 = event_id(org, case, 3)
    with pytest.raises(PermissionDenied):
        correct(org, "sekretaris", step2, note="x", reason="Coba koreksi")
    with pytest.raises(InvalidInput, match="Alasan koreksi wajib diisi"):
        correct(org, "fungsional", step2, note="x", reason="")
    correct(org, "admin", step2, note="Dilengkapi admin", reason="Lampiran tertinggal")


def _open_step(org: Organisation, case: int) -> tuple[int, int]:
    with read_session(org.engine) as session:
        visit = session.scalar(select(Visit).where(Visit.case_id == case,
                                                   Visit.ended_at.is_(None)))
        return visit.seq, visit.pass_no


def _returns(org: Organisation) -> int:
    with read_session(org.engine) as session:
        metrics = compute_metrics(session, as_of=NOW)
    return next(sop for sop in metrics.sops if sop.code == "penyusunan-lkj").totals.returns


def test_a_decision_recorded_the_wrong_way_is_taken_the_other_way(org: Organisation,
                                                                  case: int) -> None:
    """Step 4 (Fungsional checks the draft) was approved by mistake: the correction returns
    it to step 3 instead; the case, the metrics and the exported log all follow; taken back,
    step 5 is open again."""
    act(org, "fungsional", "complete", case, 3, wib(2025, 2, 3, 13))
    act(org, "fungsional", "approve", case, 4, wib(2025, 2, 3, 14))
    assert _open_step(org, case) == (5, 1) and _returns(org) == 0
    with pytest.raises(PermissionDenied):
        correct(org, "sekretaris", (case, 5), reason="Bukan saya", outcome="return")
    correct(org, "fungsional", (case, 5), reason="Salah pilih: konsep belum lengkap",
            outcome="return")
    assert _open_step(org, case) == (3, 2)  # back to step 3, its second pass
    assert _returns(org) == 1
    row = exported(org)[5].split(",")
    assert (row[4], row[-1]) == ("return", "Salah pilih: konsep belum lengkap")
    with pytest.raises(InvalidInput, match="sudah tercatat demikian"):
        correct(org, "fungsional", (case, 5), reason="Lagi", outcome="return")
    correct(org, "fungsional", (case, 5), reason="Ternyata lengkap", outcome="approve",
            note="Lengkap")
    assert _open_step(org, case) == (5, 1) and _returns(org) == 0
    assert exported(org)[5].split(",")[4] == "approve"


def test_only_the_latest_decision_changes_its_outcome(org: Organisation, case: int) -> None:
    act(org, "fungsional", "complete", case, 3, wib(2025, 2, 3, 13))
    act(org, "fungsional", "approve", case, 4, wib(2025, 2, 3, 14))
    act(org, "sekretaris", "approve", case, 5, wib(2025, 2, 3, 15))
    with pytest.raises(InvalidInput, match="belum ada kejadian sesudahnya"):
        correct(org, "fungsional", (case, 5), reason="Terlambat", outcome="return")
    with pytest.raises(InvalidInput, match="Hanya keputusan"):
        correct(org, "fungsional", (case, 4), reason="Bukan keputusan", outcome="return")
    assert _open_step(org, case) == (6, 1)
