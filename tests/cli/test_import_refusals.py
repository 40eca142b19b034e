"""manage.py import-sop and import-events refuse a damaged or foreign file in one line."""

import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from tests.cli.test_catalog_commands import manage

HEADER = ("case_id,sop_code,sop_version,step,event,timestamp,performer_role,unit,performer,"
          "recorded_by,note")


def _workbook_bytes() -> bytes:
    workbook = Workbook()
    workbook.active.append(["No.", "Aktivitas", "Pelaksana"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _with_part(workbook: bytes, part: str, data: bytes | None) -> bytes:
    """The workbook with one part replaced (or left out when data is None)."""
    source, out = zipfile.ZipFile(io.BytesIO(workbook)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            if name != part:
                target.writestr(name, source.read(name))
            elif data is not None:
                target.writestr(name, data)
    return out.getvalue()


def _zip_of(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        target.writestr(name, data)
    return out.getvalue()


FOREIGN = {
    "text-renamed": (b"No.\tAktivitas\n1\tMenyusun\n", "bukan Excel (.xlsx)"),
    "empty": (b"", "bukan Excel (.xlsx)"),
    "cut-short": (_workbook_bytes()[:2000], "bukan arsip ZIP"),
    "zip-of-text": (_zip_of("catatan.txt", b"halo"), "arsip ZIP ini bukan buku kerja Excel"),
    "no-workbook-part": (_with_part(_workbook_bytes(), "xl/workbook.xml", None),
                         "arsip ZIP ini bukan buku kerja Excel"),
    "broken-sheet-xml": (_with_part(_workbook_bytes(), "xl/worksheets/sheet1.xml",
                                    b"<worksheet><sheetData><row"), "buku kerja rusak"),
    "broken-content-types": (_with_part(_workbook_bytes(), "[Content_Types].xml", b"rusak"),
                             "buku kerja rusak"),
}


@pytest.mark.parametrize("kind", FOREIGN)
def test_import_sop_refuses_a_file_that_is_not_a_whole_workbook(
        kind: str, tmp_path: Path, sqlite_url: str) -> None:
    data, reason = FOREIGN[kind]
    source, out = tmp_path / "sop.xlsx", tmp_path / "katalog"
    source.write_bytes(data)
    result = manage("import-sop", str(source), "--out", str(out), database_url=sqlite_url)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("galat: sop.xlsx: ") and reason in line, line
    assert not list(out.glob("*.yaml"))


def test_import_events_with_a_quote_left_open_prints_its_row_and_stores_nothing(
        tmp_path: Path, sqlite_url: str) -> None:
    """Before, the rows after the open quote became its note and the command said "Diimpor"."""
    assert manage("init", database_url=sqlite_url).returncode == 0
    rows = [
        "X,e-kinerja,,,start,2026-01-05 08:00,,,,,Judul kasus",
        'X,e-kinerja,,1,complete,2026-01-05 09:00,,,,,"dibuka',
        "X,e-kinerja,,2,complete,2026-01-05 10:00,,,,,",
        'X,e-kinerja,,3,complete,2026-01-05 11:00,,,,,ditutup"',
    ]
    log = tmp_path / "log.csv"
    log.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    result = manage("import-events", str(log), database_url=sqlite_url)
    assert result.returncode == 2 and "Diimpor" not in result.stdout
    (line,) = result.stderr.splitlines()
    assert line.startswith("galat: Baris 3: tanda kutip"), line
    log.write_text("\n".join([HEADER, *rows]).replace('"', "") + "\n", encoding="utf-8")
    imported = manage("import-events", str(log), database_url=sqlite_url)
    assert imported.returncode == 0, imported.stderr
    assert "Diimpor: 4 kejadian dari 1 kasus." in imported.stdout  # nothing was left before
