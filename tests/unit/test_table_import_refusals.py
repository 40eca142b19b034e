"""read_table_file refuses what it cannot read whole with a CatalogError naming the file."""

import zipfile
from pathlib import Path

import pytest

from services.catalog.definition import CatalogError
from services.catalog.table_import import MAX_WORKBOOK_UNPACKED_BYTES, read_table_file
from tests.cli.test_import_refusals import _with_part, _workbook_bytes


def test_a_workbook_that_unpacks_past_the_limit_is_refused_before_it_is_read(
        tmp_path: Path) -> None:
    path = tmp_path / "bom.xlsx"
    path.write_bytes(_workbook_bytes())
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (MAX_WORKBOOK_UNPACKED_BYTES + 1))
    assert path.stat().st_size < 1_000_000  # small on disk: the limit is on what it unpacks to
    with pytest.raises(CatalogError, match=r"^bom\.xlsx: isi buku kerja lebih dari"):
        read_table_file(path)


def test_a_workbook_without_sheets_is_refused(tmp_path: Path) -> None:
    """openpyxl reads a workbook part without sheets as no sheets: before, nothing was
    written and nothing was said."""
    path = tmp_path / "kosong.xlsx"
    path.write_bytes(_with_part(_workbook_bytes(), "xl/workbook.xml", b"<workbook/>"))
    with pytest.raises(CatalogError, match=r"^kosong\.xlsx: buku kerja tidak berisi lembar"):
        read_table_file(path)


def test_a_csv_field_past_the_csv_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sop.csv"
    path.write_text("No.,Aktivitas\n1," + "x" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"^sop\.csv: CSV rusak"):
        read_table_file(path)
