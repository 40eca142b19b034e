"""The event-log import reads its CSV strictly (docs/metrics.md, "Event logs"): a quote left
open, a record of the wrong width, an oversize field, a NUL byte, a number or time no column can
hold are refused as `Baris N: ...` with nothing stored, on both backends; unit names are matched
whole, not by the code derived from them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.engine import read_session
from db.models import Event, Unit
from services.eventlog import LogRejected
from tests.db.test_eventlog import GOOD, NOTED, csv_bytes, event_count, import_csv
from tests.organisation import Organisation

# Three cases, eleven data rows (rows 2 to 11), notes quoted and not, one over two lines.
LOG = [*GOOD, *NOTED]


def _quote_left_open(row: str) -> str:
    """The row with its note's opening quote never closed (the note is the last cell)."""
    if row.endswith('"'):
        return row[:-1]
    head, _, note = row.rpartition(",")
    return f'{head},"{note}'


def _refused(org: Organisation, data: bytes) -> LogRejected:
    with pytest.raises(LogRejected) as caught:
        import_csv(org, data)
    assert str(caught.value).startswith(f"Baris {caught.value.line}: ")
    assert event_count(org) == 0
    return caught.value


def test_a_quote_left_open_in_any_row_is_refused_at_that_row(org: Organisation) -> None:
    """Python's csv module reads on to the next quote and merges the rows between into one note:
    the import stored fewer events than the file has rows and said "Diimpor"."""
    for index in range(len(LOG)):
        rows = list(LOG)
        rows[index] = _quote_left_open(rows[index])
        refusal = _refused(org, csv_bytes(*rows))
        assert (refusal.line, "tanda kutip" in refusal.reason) == (index + 2, True), refusal
    assert import_csv(org, csv_bytes(*LOG)).events == len(LOG)  # the undamaged file imports


SWALLOWED = {
    # The case: the quote opened in a note three rows from the end closes at the end
    # of the last row, so the merged record has the right number of columns.
    "note": ['K1,penyusunan-lkj,,3,complete,2026-03-02 11:00,Fungsional,,fungsional,,"dibuka',
             "K1,penyusunan-lkj,,4,approve,2026-03-02 12:00,Fungsional,,fungsional,,",
             'K1,penyusunan-lkj,,5,approve,2026-03-02 13:00,Sekretaris,,sekretaris,,ditutup"'],
    # Opened in the performer column and closed by a stray quote in the same column one row
    # on: the performer's name holds part of the next row, the columns after it add up.
    "performer": ['K1,penyusunan-lkj,,3,complete,2026-03-02 11:00,Fungsional,,"fungsional,,',
                  'K1,penyusunan-lkj,,4,approve,2026-03-02 12:00,Fungsional,,fungsional",,'],
}


@pytest.mark.parametrize("column", SWALLOWED)
def test_rows_swallowed_up_to_a_stray_closing_quote_are_refused(org: Organisation,
                                                                column: str) -> None:
    """Before, these imported with fewer events than the file has data rows."""
    refusal = _refused(org, csv_bytes(*GOOD, *SWALLOWED[column]))
    assert refusal.line == 5
    assert "tanda kutip" in refusal.reason and f"kolom {column}" in refusal.reason


@pytest.mark.parametrize(("row", "width"), [
    (GOOD[1] + ",lebih", 12),  # a note with a comma, written without quotes
    (GOOD[1].rpartition(",")[0], 10),  # the note column left out
], ids=["extra-column", "missing-column"])
def test_a_row_of_the_wrong_width_is_refused(org: Organisation, row: str, width: int) -> None:
    refusal = _refused(org, csv_bytes(GOOD[0], row, GOOD[2]))
    assert refusal.line == 3 and f"berisi {width} kolom, judul kolom 11" in refusal.reason


@pytest.mark.parametrize("note", [
    "x" * (128 * 1024 + 1),
    '"' + "baris panjang\n" * 10_000 + '"',
], ids=["one-line", "quoted-lines"])
def test_an_oversize_field_is_refused_with_its_row(org: Organisation, note: str) -> None:
    """Over the csv module's field limit (128 KiB) it raised _csv.Error, naming no row."""
    rows = [GOOD[0], GOOD[1] + note, GOOD[2]]
    refusal = _refused(org, csv_bytes(*rows))
    assert refusal.line == 3 and "lebih dari 131072 karakter" in refusal.reason


@pytest.mark.parametrize(("rows", "line"), [
    ([GOOD[0], GOOD[1] + "catatan\x00", GOOD[2]], 3),
    ([GOOD[0].replace("Penyusunan LKj", "Penyusunan\x00LKj"), *GOOD[1:]], 2),
    ([GOOD[0].replace("periode: 2025", "periode: 20\x0025"), *GOOD[1:]], 2),
    ([GOOD[0], GOOD[1].replace("sekretaris,fungsional", "sekre\x00taris,fungsional"), GOOD[2]],
     3),
], ids=["note", "title", "period", "performer"])
def test_a_nul_byte_is_refused_on_both_backends(org: Organisation, rows: list[str],
                                                line: int) -> None:
    """SQLite stored it; PostgreSQL raised DataError (text cannot hold NUL)."""
    refusal = _refused(org, csv_bytes(*rows))
    assert refusal.line == line and "karakter NUL" in refusal.reason


@pytest.mark.parametrize(("rows", "line", "reason"), [
    ([GOOD[0], GOOD[1].replace(",,1,", ",,\u00b2,")], 3, "step '\u00b2'"),
    ([GOOD[0].replace(",,,start", ",99999999999999999999,,start")], 2,
     "sop_version '99999999999999999999'"),
    ([GOOD[0].replace("2026-03-02T08:00:00+07:00", "0001-01-01T00:00:00+07:00")], 2,
     "antara tahun 1900 dan 9000"),
    (['M1,monev-kinerja-periodik,,,start,2026-03-02T08:00:00+07:00,,,,,"Monev TW I\n'
      'jadwal langkah 5: 0001-01-01T00:00:00+07:00"'], 2, "tanggal jadwal"),
], ids=["superscript-step", "huge-version", "year-1", "year-1-schedule"])
def test_a_number_or_time_no_column_can_hold_is_refused(org: Organisation, rows: list[str],
                                                        line: int, reason: str) -> None:
    """They escaped as ValueError, OverflowError or a PostgreSQL DataError."""
    refusal = _refused(org, csv_bytes(*rows))
    assert refusal.line == line and reason in refusal.reason, refusal


ALIKE = ("Bidang Pengelolaan Data dan Statistik Sektoral Satu",
         "Bidang Pengelolaan Data dan Statistik Sektoral Dua")


def _submissions(first: str, second: str) -> list[str]:
    return [
        "N1,pengumpulan-data-kinerja,,,start,2026-03-02T08:00:00+07:00,Fungsional,,fungsional,"
        "fungsional,Pengumpulan Data Kinerja",
        "N1,pengumpulan-data-kinerja,,1,complete,2026-03-02T09:00:00+07:00,Kadis,,kadis,"
        "fungsional,",
        "N1,pengumpulan-data-kinerja,,2,complete,2026-03-02T10:00:00+07:00,Fungsional,,"
        "fungsional,fungsional,",
        f"N1,pengumpulan-data-kinerja,,3,complete,2026-03-03T09:00:00+07:00,Bidang,{first},,"
        "fungsional,",
        f"N1,pengumpulan-data-kinerja,,3,complete,2026-03-03T10:00:00+07:00,Bidang,{second},,"
        "fungsional,",
    ]


def test_unit_names_alike_in_their_first_40_characters_are_two_units(org: Organisation) -> None:
    """A unit is named by its whole name (up to the name column's 120 characters); only the
    code derived from it is cut to 40, and the import refused the valid file naming no row."""
    assert ALIKE[0][:40] == ALIKE[1][:40]
    assert import_csv(org, csv_bytes(*_submissions(*ALIKE))).events == 5
    with read_session(org.engine) as session:
        units = {name: code for name, code in session.execute(
            select(Unit.name, Unit.code).where(Unit.name.in_(ALIKE)))}
        submitted = session.scalars(select(Unit.name).join(Event, Event.unit_id == Unit.id)
                                    .order_by(Event.event_no)).all()
    assert set(units) == set(ALIKE) and len(set(units.values())) == 2
    assert all(len(code) <= 40 for code in units.values())
    assert submitted == list(ALIKE)


def test_a_unit_name_longer_than_its_column_is_refused_at_its_first_row(
        org: Organisation) -> None:
    refusal = _refused(org, csv_bytes(*_submissions("Bidang Layanan Perpustakaan", "B" * 121)))
    assert refusal.line == 6 and "maksimal 120 karakter" in refusal.reason
    with read_session(org.engine) as session:
        assert session.scalar(select(Unit.id).where(Unit.name == "B" * 121)) is None
