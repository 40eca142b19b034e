"""Invisible control characters (a vertical tab or form feed pasted from a word processor) are
refused wherever text is typed, with a message naming the field; before, they were stored and
every workbook quoting them failed to build (openpyxl's IllegalCharacterError). Text stored
before the check still builds a workbook (docs/security.md, "Spreadsheets")."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest
from sqlalchemy.orm import Session

from db.engine import read_session, write_session
from services.accounts import SYSTEM, create_user
from services.calendar_admin import add_holiday
from services.errors import InvalidInput
from services.metrics import period_metrics
from services.organisation import create_unit
from services.periods import read_period
from services.reports.excel import management_workbook
from services.reports.forms import CRITERIA, YES, save_evaluation
from services.workflow import engine as wf
from tests.db.test_eventlog import GOOD, csv_bytes
from tests.db.test_import_strict import _refused
from tests.organisation import NOW, PASSWORD, Organisation, wib

PASTED = "Disposisi\x0bKadis"  # a vertical tab: Word's manual line break, pasted


def _title(org: Organisation, session: Session) -> None:
    wf.start_case(session, actor=org.actor("kadis"), sop_code="e-kinerja", title=PASTED,
                  at=wib(2026, 3, 2, 8), now=NOW)


def _return_reason(org: Organisation, session: Session) -> None:
    case = wf.start_case(session, actor=org.actor("kadis"), sop_code="e-kinerja",
                         title="Laporan Maret", at=wib(2026, 3, 2, 8), now=NOW).case_id
    for by, seq, hour in (("kadis", 1, 9), ("sekretaris", 2, 10), ("fungsional", 3, 11),
                          ("fungsional", 4, 13)):
        wf.record_step(session, actor=org.actor(by), case_id=case, kind="complete", seq=seq,
                       at=wib(2026, 3, 2, hour), now=NOW)
    wf.record_step(session, actor=org.actor("fungsional"), case_id=case, kind="return", seq=5,
                   at=wib(2026, 3, 2, 14), now=NOW, note=PASTED)


def _full_name(org: Organisation, session: Session) -> None:
    create_user(session, actor=SYSTEM, username="penguji", full_name=PASTED, password=PASSWORD,
                roles=["Fungsional"], unit_code="sekretariat", is_admin=False, now=NOW)


def _unit_name(org: Organisation, session: Session) -> None:
    create_unit(session, actor=SYSTEM, code="bidang-uji", name=PASTED, kind="bidang", now=NOW)


def _holiday_name(org: Organisation, session: Session) -> None:
    add_holiday(session, actor=SYSTEM, day=date(2026, 3, 4), name=PASTED, now=NOW)


def _evaluation_note(org: Organisation, session: Session) -> None:
    save_evaluation(session, actor=org.actor("kadis"), code="e-kinerja",
                    period=read_period("2026-03"), answers={key: YES for key, _ in CRITERIA}, notes={"masalah": PASTED},
                    conclusion="", now=NOW)


@pytest.mark.parametrize(("typed", "field"), [
    (_title, "Judul kasus"), (_return_reason, "Alasan pengembalian"), (_full_name, "Nama lengkap"),
    (_unit_name, "Nama unit"), (_holiday_name, "Nama hari libur"),
    (_evaluation_note, "Catatan kriteria"),
], ids=["title", "return-reason", "full-name", "unit-name", "holiday", "evaluation-note"])
def test_a_control_character_is_refused_naming_the_field(
        org: Organisation, typed: Callable[[Organisation, Session], None], field: str) -> None:
    with pytest.raises(InvalidInput, match=f"^{field}.*karakter kendali.*kode 11"):
        with write_session(org.engine) as session:
            typed(org, session)


def test_a_control_character_in_an_imported_note_is_refused_at_its_row(
        org: Organisation) -> None:
    refusal = _refused(org, csv_bytes(GOOD[0], GOOD[1] + "cat\x0catan", GOOD[2]))
    assert refusal.line == 3 and "karakter kendali" in refusal.reason


def test_tabs_and_line_breaks_are_ordinary_text(org: Organisation) -> None:
    with write_session(org.engine) as session:
        case = wf.start_case(session, actor=org.actor("kadis"), sop_code="e-kinerja",
                             title="Laporan\tMaret", at=wib(2026, 3, 2, 8), now=NOW,
                             note="baris satu\r\nbaris dua")
    assert case.case_id


def test_text_stored_before_the_check_still_builds_a_workbook(org: Organisation) -> None:
    period = read_period("2026-03")
    with read_session(org.engine) as session:
        metrics = period_metrics(session, period=period, now=NOW)
    returns = pd.DataFrame([{"at": datetime(2026, 3, 2, 14), "ref": "K-1", "title": PASTED,
                             "sop_code": "e-kinerja", "label": "5", "performer": "Budi",
                             "note": "nul\x00 dan\x1f"}])
    content = management_workbook(metrics, period=period, returns=returns, titles={})
    values = {cell.value for sheet in openpyxl.load_workbook(io.BytesIO(content)).worksheets
              for row in sheet.iter_rows() for cell in row}
    assert {"Disposisi\ufffdKadis", "nul\ufffd dan\ufffd"} <= values
