"""The importer reads the seed file into the curated catalog's content."""

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook

from services.catalog.definition import CatalogError
from services.catalog.table_import import (
    parse_approver,
    parse_seed_text,
    read_table_file,
    sop_code_for,
)
from services.catalog.yaml_io import catalog_files, read_catalog
from tests.conftest import CATALOG_DIR, SEED_FILE

# Steps where the seed's text alone does not give the reference performer: the curated file
# explains each reading in interpretation_note, and the linter flags each
# (tests/unit/test_seed_import.py).
PERFORMER_READ_BY_REVIEWER = {"monev-kinerja-periodik": {1, 2, 4, 5, 8, 9}}
# The seed's typos that the curated catalog corrects (each a lint finding).
CORRECTED_IN_THE_CATALOG = {"penyusunan-lkj": {"instansi", "disahkan_oleh"},
                            "pengumpulan-data-kinerja": {"disahkan_oleh"}}


@pytest.fixture(scope="module")
def imported():
    return {sop.code: sop for sop in read_table_file(SEED_FILE)}


@pytest.fixture(scope="module")
def curated():
    return {sop.code: sop for sop in read_catalog(catalog_files(CATALOG_DIR))}


def test_seed_has_five_sops_with_their_step_counts(imported) -> None:
    assert {code: len(sop.steps) for code, sop in imported.items()} == {
        "penyusunan-lkj": 8,
        "pengumpulan-data-kinerja": 11,
        "perbaikan-data-kinerja": 10,
        "e-kinerja": 7,
        "monev-kinerja-periodik": 10,
    }


def test_every_activity_and_mutu_baku_matches_the_curated_catalog(imported, curated) -> None:
    assert imported.keys() == curated.keys()
    for code, sop in imported.items():
        for got, want in zip(sop.steps, curated[code].steps, strict=True):
            where = f"{code} step {got.seq}"
            assert got.label == want.label, where
            assert got.activity == want.activity, where
            assert (got.kelengkapan, got.waktu, got.output, got.ket) == (
                want.kelengkapan, want.waktu, want.output, want.ket), where
            assert got.target == want.target, where


def test_identity_blocks_match_the_curated_catalog(imported, curated) -> None:
    for code, sop in imported.items():
        assert sop.name == curated[code].name
        assert sop.lanes == curated[code].lanes
        differing = {key for key, value in vars(sop.identity).items()
                     if value != vars(curated[code].identity)[key]}
        assert differing == CORRECTED_IN_THE_CATALOG.get(code, set()), code


def test_performers_read_from_hand_offs_match_the_reference(imported, curated) -> None:
    for code, sop in imported.items():
        differing = {got.seq for got, want in zip(sop.steps, curated[code].steps, strict=True)
                     if got.role != want.role}
        assert differing == PERFORMER_READ_BY_REVIEWER.get(code, set()), code


def test_decisions_resolve_return_targets_from_the_text(imported, curated) -> None:
    for code, sop in imported.items():
        assert [got.decision for got in sop.steps] == [want.decision for want in
                                                       curated[code].steps], code
        assert [got.multi_unit for got in sop.steps] == [want.multi_unit for want in
                                                         curated[code].steps], code
    lkj = imported["penyusunan-lkj"]
    assert [(s.seq, s.decision.return_to) for s in lkj.steps if s.decision] == [(4, 3), (5, 4), (6, 5)]


def test_misplaced_mutu_baku_cells_and_stray_flow_labels_are_handled(imported) -> None:
    # Perbaikan rows 6 and 7 carry a stray "T"/"Y" in a lane column.
    step6 = imported["perbaikan-data-kinerja"].step(6)
    assert (step6.kelengkapan, step6.waktu, step6.output) == (
        "Dokumen, data", "120 Menit", "Draft Perbaikan Data kinerja")
    # Pengumpulan rows are shifted three columns right of their headers.
    assert imported["pengumpulan-data-kinerja"].step(2).waktu == "90 Menit"
    assert imported["e-kinerja"].step(1).ket == "SOP surat masuk"


def test_approver_block_is_split_into_its_parts() -> None:
    approver = parse_approver("<p>Kepala Dinas Perpustakaan dan Kearsipan</p>  <p>Drs. Sudeng "
                              "Hariadi, MM. Pembina Utama Muda (IV/c) NIP. 19690101 199303 1 021</p>")
    assert approver.jabatan == "Kepala Dinas Perpustakaan dan Kearsipan"
    assert approver.nama == "Drs. Sudeng Hariadi, MM."
    assert approver.pangkat == "Pembina Utama Muda (IV/c)"
    assert approver.nip == "19690101 199303 1 021"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Penyusunan Laporan Kinerja", "penyusunan-lkj"),
        ("Monitoring Evaluasi Kinerja Secara Periodik", "monev-kinerja-periodik"),
        ("e-Kinerja", "e-kinerja"),
        ("Pengumpulan Data Kinerja", "pengumpulan-data-kinerja"),
    ],
)
def test_codes_follow_the_catalog_convention(name: str, code: str) -> None:
    assert sop_code_for(name) == code


def _first_table_rows() -> list[list[str]]:
    lines = SEED_FILE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("No.\tAktivitas"))
    end = lines.index("", start)
    return [line.split("\t") for line in lines[start:end]]


def test_same_table_as_csv_imports_the_same_steps(tmp_path: Path, imported) -> None:
    path = tmp_path / "Penyusunan Laporan Kinerja.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(_first_table_rows())
    (sop,) = read_table_file(path)
    assert [(s.activity, s.waktu, s.role) for s in sop.steps] == [
        (s.activity, s.waktu, s.role) for s in imported["penyusunan-lkj"].steps]
    assert sop.code == "penyusunan-lkj"


def test_same_table_as_xlsx_imports_the_same_steps(tmp_path: Path, imported) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Penyusunan Laporan Kinerja"
    for row in _first_table_rows():
        sheet.append(row)
    path = tmp_path / "sop.xlsx"
    workbook.save(path)
    (sop,) = read_table_file(path)
    assert [(s.activity, s.target) for s in sop.steps] == [
        (s.activity, s.target) for s in imported["penyusunan-lkj"].steps]


def test_text_without_sop_headings_is_refused() -> None:
    with pytest.raises(CatalogError, match="tidak ada judul SOP"):
        parse_seed_text("No.\tAktivitas\n1\tSesuatu\n", source="x.txt")


def test_table_without_header_row_is_refused() -> None:
    with pytest.raises(CatalogError, match="x.txt: tabel 1: tidak ada baris judul tabel"):
        parse_seed_text("### SOP Contoh\n\n1\tSesuatu\t10 Menit\n", source="x.txt")


def test_unreadable_waktu_names_table_step_and_field() -> None:
    text = ("### SOP Contoh\nNo.\tAktivitas\tPelaksana\tMutu Baku\n"
            "\t\tKadis\tKelengkapan\tWaktu\tOutput\n1\tMenyusun\t\tdata\t10 Menitan\tND\n")
    # "10 Menitan" is not a Waktu form, so no cell is found by form; the header column is
    # used and its text refused.
    with pytest.raises(CatalogError, match=r"x\.txt: tabel 1, langkah 1, kolom 'waktu'"):
        parse_seed_text(text, source="x.txt")


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sop.txt"
    path.write_bytes("### SOP Contoh\n".encode("utf-16"))
    with pytest.raises(CatalogError, match="bukan teks UTF-8"):
        read_table_file(path)
