"""Text users typed reaches the three workbooks as text cells, never as formulas
(docs/security.md, "Spreadsheets"): first typed into the services as a user would, then handed
straight to the builders with what the services would strip."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime

import openpyxl
import pandas as pd
import pytest
from openpyxl.cell.cell import Cell

from db.engine import read_session, write_session
from services.accounts import SYSTEM, create_user
from services.metrics import period_metrics
from services.organisation import create_unit
from services.periods import read_period
from services.reports.digest import management_report, period_forms
from services.reports.excel import evaluation_workbook, management_workbook, monitoring_workbook
from services.reports.forms import CRITERIA, YES, save_evaluation, save_monitoring
from services.workflow import engine as wf
from tests.db.test_reports import rows_of, summary_of
from tests.organisation import NOW, PASSWORD, Organisation, wib

MARCH = read_period("2026-03")
FORMULAS = ['=HYPERLINK("http://x","x")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)",
            "\t=1", "\r=1"]
# Starts a spreadsheet may read as a formula once the cell is edited (a carriage return reads
# back as a line feed).
DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\n")


def _cells(content: bytes) -> list[Cell]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def _only_text(books: dict[str, bytes]) -> None:
    """No formula and no error value anywhere (the code writes none on purpose); every string
    is a text cell, and one that starts like a formula keeps Excel's quote prefix."""
    for name, content in books.items():
        for cell in _cells(content):
            where = f"{name} {cell.parent.title}!{cell.coordinate} {cell.value!r}"
            assert cell.data_type not in ("f", "e"), where
            if isinstance(cell.value, str):
                assert cell.data_type == "s", where
                assert cell.quotePrefix == cell.value.startswith(DANGEROUS), where


def _holding(books: dict[str, bytes], text: str) -> list[Cell]:
    return [cell for content in books.values() for cell in _cells(content) if cell.value == text]


@pytest.mark.parametrize("formula", FORMULAS, ids=repr)
def test_text_typed_into_the_services_is_a_text_cell_in_every_workbook(
        org: Organisation, formula: str) -> None:
    typed = {field: f"{formula} {field}" for field in (
        "judul", "nama", "unit", "alasan", "catatan SOP", "tindakan SOP", "catatan langkah",
        "tindakan langkah", "catatan evaluasi", "kesimpulan")}
    with write_session(org.engine) as session:
        create_user(session, actor=SYSTEM, username="penguji", full_name=typed["nama"],
                    password=PASSWORD, roles=["Fungsional"], unit_code="sekretariat",
                    is_admin=False, now=NOW)
        create_unit(session, actor=SYSTEM, code="bidang-uji", name=typed["unit"], kind="bidang",
                    now=NOW)
    with write_session(org.engine) as session:
        # e-Kinerja, returned at step 5 by the user named like a formula: the return and the
        # reopened step 4 carry the title; step 3 of the other case waits on the new unit.
        case = wf.start_case(session, actor=org.actor("kadis"), sop_code="e-kinerja",
                             title=typed["judul"], at=wib(2026, 3, 2, 8), now=NOW).case_id
        for by, kind, seq, hour in (("kadis", "complete", 1, 9), ("sekretaris", "complete", 2, 10),
                                    ("penguji", "complete", 3, 11), ("penguji", "complete", 4, 13),
                                    ("penguji", "return", 5, 14)):
            wf.record_step(session, actor=org.actor(by), case_id=case, kind=kind, seq=seq,
                           at=wib(2026, 3, 2, hour), now=NOW,
                           note=typed["alasan"] if kind == "return" else None)
        multi = wf.start_case(session, actor=org.actor("kadis"),
                              sop_code="pengumpulan-data-kinerja", title="Data Triwulan I",
                              at=wib(2026, 3, 3, 8), now=NOW).case_id
        wf.record_step(session, actor=org.actor("kadis"), case_id=multi, kind="complete", seq=1,
                       at=wib(2026, 3, 3, 9), now=NOW)
        wf.record_step(session, actor=org.actor("fungsional"), case_id=multi, kind="complete",
                       seq=2, at=wib(2026, 3, 3, 10), now=NOW)
    with read_session(org.engine) as session:
        draft = next(form for form in period_forms(
            session, period=MARCH, metrics=period_metrics(session, period=MARCH, now=NOW))
            .monitoring if form.sop.code == "e-kinerja")
    rows = rows_of(draft)
    rows[0] = {**rows[0], "note": typed["catatan langkah"], "action": typed["tindakan langkah"]}
    with write_session(org.engine) as session:
        save_monitoring(session, actor=org.actor("sekretaris"), code="e-kinerja", period=MARCH,
                        rows=rows, summary={**summary_of(draft), "note": typed["catatan SOP"],
                                            "action": typed["tindakan SOP"]}, now=NOW)
        save_evaluation(session, actor=org.actor("kadis"), code="e-kinerja", period=MARCH,
                        answers={key: YES for key, _ in CRITERIA},
                        notes={"masalah": typed["catatan evaluasi"]},
                        conclusion=typed["kesimpulan"], now=NOW)

    with read_session(org.engine) as session:
        metrics = period_metrics(session, period=MARCH, now=NOW)
        forms = period_forms(session, period=MARCH, metrics=metrics)
        books = {"tabel7": monitoring_workbook(forms.monitoring),
                 "evaluasi": evaluation_workbook(forms.evaluation),
                 "manajemen": management_report(session, period=MARCH, metrics=metrics)}
    _only_text(books)
    for field, text in typed.items():
        kept = text.strip()  # the services strip what surrounds a text, nothing else
        assert _holding(books, kept), f"{field}: {kept!r} is in no cell"
    returned = openpyxl.load_workbook(io.BytesIO(books["manajemen"]))["Pengembalian"]
    header = [cell.value for cell in returned[4]]
    row = dict(zip(header, (cell for cell in returned[5]), strict=True))
    assert (row["Judul"].value, row["Dikembalikan oleh"].value, row["Alasan"].value) == (
        typed["judul"].strip(), typed["nama"].strip(), typed["alasan"].strip())
    assert isinstance(row["Waktu (WIB)"].value, datetime)  # a date stays a date
    assert row["Waktu (WIB)"].number_format == "dd/mm/yyyy hh:mm"


@pytest.mark.parametrize("text", [*FORMULAS, "=1", "-", "#N/A", "#DIV/0!", "=1\r\n+2",
                                  "Baris satu\r\nbaris dua", "Catatan biasa"], ids=repr)
def test_the_builders_write_any_text_as_it_is(org: Organisation, text: str) -> None:
    """What the services would strip, and error values: still text, exactly as handed over,
    except that a line end is a line feed (Excel's line break in a cell), whether or not
    openpyxl writes through lxml."""
    with read_session(org.engine) as session:
        metrics = period_metrics(session, period=MARCH, now=NOW)
        forms = period_forms(session, period=MARCH, metrics=metrics)
    monitoring = [replace(form, summary=replace(form.summary, note=text, action=text),
                          rows=tuple(replace(row, note=text, action=text) for row in form.rows))
                  for form in forms.monitoring]
    evaluation = [replace(form, notes={key: text for key, _ in CRITERIA}, conclusion=text)
                  for form in forms.evaluation]
    returns = pd.DataFrame([{"at": datetime(2026, 3, 2, 14), "ref": text, "title": text,
                             "sop_code": "e-kinerja", "label": "5", "performer": text,
                             "note": text}])
    books = {"tabel7": monitoring_workbook(monitoring),
             "evaluasi": evaluation_workbook(evaluation),
             "manajemen": management_workbook(metrics, period=MARCH, returns=returns, titles={})}
    _only_text(books)
    read_back = text.replace("\r\n", "\n").replace("\r", "\n")
    per_book = {name: len(_holding({name: content}, read_back)) for name, content in
                books.items()}
    # Tabel 7: note and action on each SOP's row and on each step of its annex; the
    # evaluation: seven notes and the conclusion per SOP; the returns sheet: four columns.
    steps = sum(len(form.rows) for form in forms.monitoring)
    assert per_book == {"tabel7": 2 * len(monitoring) + 2 * steps,
                        "evaluasi": (len(CRITERIA) + 1) * len(evaluation), "manajemen": 4}
