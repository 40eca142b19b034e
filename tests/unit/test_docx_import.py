"""`import-sop` on Word documents in the official layout: each seed SOP, written as a .docx with
its symbols in the lane columns (tests/docx_builder.py), imports as its curated catalog entry
field for field; the symbol's lane names the performer; bad files get one clear message."""

from __future__ import annotations

import io
import zipfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest
from docx import Document

from services.catalog.definition import CatalogError, Decision, SopDef
from services.catalog.docx_import import docx_tables
from services.catalog.table_import import read_table_bytes, read_table_file
from services.catalog.yaml_io import catalog_files, read_catalog
from tests.conftest import CATALOG_DIR
from tests.docx_builder import STYLES, Style, write_sop_docx

CURATED = {sop.code: sop for sop in read_catalog(catalog_files(CATALOG_DIR))}


def _differences(imported: SopDef, curated: SopDef) -> list[tuple[int | None, str, Any, Any]]:
    """Every field that differs, as tests/unit/test_seed_import.py compares them (the
    interpretation notes are the reviewer's words, not the document's)."""
    got, want = asdict(imported), asdict(curated)
    found: list[tuple[int | None, str, Any, Any]] = [
        (None, key, got[key], want[key]) for key in ("code", "name", "lanes", "identity")
        if got[key] != want[key]]
    if len(got["steps"]) != len(want["steps"]):
        return [*found, (None, "steps", len(got["steps"]), len(want["steps"]))]
    for got_step, want_step in zip(got["steps"], want["steps"], strict=True):
        found += [(want_step["seq"], key, got_step[key], value) for key, value in want_step.items()
                  if key != "interpretation_note" and got_step[key] != value]
    return found


@pytest.mark.parametrize("code", sorted(CURATED))
def test_each_seed_sop_as_a_word_document_imports_as_its_catalog_entry(
        code: str, tmp_path: Path) -> None:
    path = write_sop_docx(CURATED[code], tmp_path / f"{code}.docx")
    (imported,) = read_table_file(path)
    assert _differences(imported, CURATED[code]) == []


def test_the_fixtures_use_every_way_of_drawing_a_step(tmp_path: Path) -> None:
    """So the test above covers shapes (DrawingML and VML), typed marks, merged cells."""
    assert {style.symbols for style in STYLES.values()} == {"drawingml", "vml", "text"}
    xml = {code: zipfile.ZipFile(write_sop_docx(sop, tmp_path / f"{code}.docx"))
           .read("word/document.xml").decode() for code, sop in CURATED.items()}
    assert "flowChartDecision" in xml["penyusunan-lkj"]
    assert "v:rect" in xml["pengumpulan-data-kinerja"]
    assert 'w:vMerge w:val="restart"' in xml["penyusunan-lkj"]  # Kelengkapan of steps 2-3
    assert all('w:gridSpan' in text for text in xml.values())  # "Pelaksana", "Mutu Baku"
    assert CURATED["pengumpulan-data-kinerja"].step(3).multi_unit


def _roles(sop: SopDef, tmp_path: Path, **options: Any) -> list[str | None]:
    (imported,) = read_table_file(write_sop_docx(sop, tmp_path / "sop.docx", **options))
    return [step.role for step in imported.steps]


def test_the_lane_holding_the_symbol_is_the_performer_even_against_the_text(
        tmp_path: Path) -> None:
    # Step 2 follows "... meneruskannya kepada Fungsional"; the document draws it in Kadis.
    lkj = CURATED["penyusunan-lkj"]
    drawn = replace(lkj, steps=tuple(replace(s, role="Kadis") if s.seq == 2 else s
                                     for s in lkj.steps))
    assert _roles(drawn, tmp_path)[1] == "Kadis"
    (imported,) = read_table_file(tmp_path / "sop.docx")
    assert imported.step(2).interpretation_note is None  # the table says it: nothing to review


def test_a_row_without_a_symbol_falls_back_to_the_hand_off_in_the_text(tmp_path: Path) -> None:
    lkj = CURATED["penyusunan-lkj"]
    drawn = replace(lkj, steps=tuple(replace(s, role="Kadis") if s.seq == 2 else s
                                     for s in lkj.steps))
    (imported,) = read_table_file(write_sop_docx(drawn, tmp_path / "sop.docx", unmarked={2}))
    assert imported.step(2).role == "Fungsional"  # step 1 hands to Fungsional
    assert "dibaca dari teks" in (imported.step(2).interpretation_note or "")


def test_typed_marks_and_drawn_shapes_read_alike(tmp_path: Path) -> None:
    lkj = CURATED["penyusunan-lkj"]
    for number, style in enumerate([Style("text", mark="X"), Style("text", mark="●"),
                                    Style("vml"), Style("drawingml")]):
        (imported,) = read_table_file(write_sop_docx(lkj, tmp_path / f"{number}.docx",
                                                     style=style))
        assert _differences(imported, lkj) == [], style


def test_a_written_tidak_target_wins_over_the_reading_of_the_text(tmp_path: Path) -> None:
    lkj = CURATED["penyusunan-lkj"]
    # The text of step 4 returns to the Fungsional (step 3); the document's arrow says 2.
    drawn = replace(lkj, steps=tuple(replace(s, decision=Decision(5, 2)) if s.seq == 4 else s
                                     for s in lkj.steps))
    (imported,) = read_table_file(write_sop_docx(drawn, tmp_path / "sop.docx",
                                                 written_targets={4}))
    assert imported.step(4).decision == Decision(approve=5, return_to=2)
    (unwritten,) = read_table_file(write_sop_docx(drawn, tmp_path / "b.docx",
                                                  written_targets=set()))
    assert unwritten.step(4).decision == Decision(approve=5, return_to=3)


def test_a_diamond_decides_without_decision_wording(tmp_path: Path) -> None:
    lkj = CURATED["penyusunan-lkj"]
    drawn = replace(lkj, steps=tuple(replace(s, decision=Decision(3, 1)) if s.seq == 2 else s
                                     for s in lkj.steps))
    (imported,) = read_table_file(write_sop_docx(drawn, tmp_path / "sop.docx",
                                                 written_targets={2}))
    assert imported.step(2).decision == Decision(approve=3, return_to=1)


def test_a_tidak_target_that_is_not_earlier_is_refused(tmp_path: Path) -> None:
    lkj = CURATED["penyusunan-lkj"]
    drawn = replace(lkj, steps=tuple(replace(s, decision=Decision(5, 6)) if s.seq == 4 else s
                                     for s in lkj.steps))
    path = write_sop_docx(drawn, tmp_path / "sop.docx", written_targets={4})
    with pytest.raises(CatalogError, match=r"langkah 4.*'Tidak' harus kembali ke langkah "
                                           "sebelumnya"):
        read_table_file(path)


def test_marks_in_a_csv_lane_column_name_the_performer_too(tmp_path: Path) -> None:
    rows = ["No.,Kegiatan,Pelaksana,,Mutu Baku,,,Ket",
            ",,Sekretaris,Kadis,Kelengkapan,Waktu,Output,",
            "1,Menyusun konsep surat,X,,data,30 Menit,konsep,",
            "2,Menandatangani surat,X,,konsep,10 Menit,surat,",
            "3,Mengirim surat,,√,surat,10 Menit,tanda terima,"]
    path = tmp_path / "Surat Keluar.csv"
    path.write_text("\n".join(rows), encoding="utf-8")
    (sop,) = read_table_file(path)
    assert [step.role for step in sop.steps] == ["Sekretaris", "Sekretaris", "Kadis"]
    assert [step.kelengkapan for step in sop.steps] == ["data", "konsep", "surat"]


def test_a_table_continued_on_the_next_page_is_one_sop(tmp_path: Path) -> None:
    lkj = CURATED["penyusunan-lkj"]
    first = write_sop_docx(replace(lkj, steps=lkj.steps[:4]), tmp_path / "a.docx")
    rest = write_sop_docx(replace(lkj, steps=lkj.steps), tmp_path / "b.docx", identity=False)
    document = Document(str(first))
    body = document.element.body
    continued = Document(str(rest)).tables[0]._tbl
    for row in list(continued.findall("{http://schemas.openxmlformats.org/wordprocessingml/"
                                      "2006/main}tr"))[3:7]:  # header + column numbers kept
        continued.remove(row)  # steps 1-4 are on the first page
    body.insert(len(body) - 1, continued)
    buffer = io.BytesIO()
    document.save(buffer)
    (imported,) = read_table_bytes(buffer.getvalue(), name="sop.docx")
    assert _differences(imported, lkj) == []


# --- files that are refused ----------------------------------------------------------------


def _docx_bytes(build: Any) -> bytes:
    document = Document()
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _refusal(data: bytes, name: str = "sop.docx") -> str:
    with pytest.raises(CatalogError) as caught:
        read_table_bytes(data, name=name)
    return str(caught.value)


def test_a_text_file_named_docx_is_not_a_word_document() -> None:
    message = _refusal(b"No.\tAktivitas\n1\tMenyusun\n")
    assert message == ("sop.docx: bukan dokumen Word (.docx). Unggah berkas yang disimpan "
                       "sebagai dokumen Word (.docx)")


def test_a_zip_that_is_not_a_word_document_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("isi.txt", "bukan dokumen")
    assert "bukan dokumen Word (.docx)" in _refusal(buffer.getvalue())


def _ole(*streams: str) -> bytes:
    """An OLE compound file header and directory naming `streams` (what a protected Office
    file is: its package encrypted in the "EncryptedPackage" stream)."""
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    directory = b"".join(name.encode("utf-16-le").ljust(64, b"\0") + bytes(64)
                         for name in ("Root Entry", *streams))
    return bytes(header) + directory


def test_a_password_protected_document_says_to_remove_the_password() -> None:
    message = _refusal(_ole("EncryptionInfo", "EncryptedPackage"))
    assert message.startswith("sop.docx: berkas dilindungi kata sandi.")
    assert "hapus kata sandinya" in message


def test_an_old_doc_file_says_to_save_as_docx() -> None:
    assert "Simpan ulang sebagai dokumen Word (.docx)" in _refusal(_ole("WordDocument"))
    assert "Simpan ulang sebagai .docx" in _refusal(b"anything", name="sop.doc")


def test_a_document_without_a_procedure_table_is_refused() -> None:
    data = _docx_bytes(lambda d: d.add_paragraph("SOP tanpa tabel"))
    assert "tidak ada tabel prosedur" in _refusal(data)


def test_a_procedure_table_without_a_waktu_column_is_refused() -> None:
    def build(document: Any) -> None:
        table = document.add_table(rows=3, cols=5)
        for column, text in enumerate(["No", "Kegiatan", "Pelaksana", "Mutu Baku", "Ket"]):
            table.cell(0, column).text = text
        for column, text in enumerate(["", "", "Kadis", "Kelengkapan", ""]):
            table.cell(1, column).text = text
        for column, text in enumerate(["1", "Menandatangani", "X", "surat", ""]):
            table.cell(2, column).text = text

    assert "tidak punya kolom Waktu" in _refusal(_docx_bytes(build))


def test_an_unknown_file_type_is_refused() -> None:
    assert "jenis berkas tidak dikenal" in _refusal(b"%PDF-1.7", name="sop.pdf")


def test_a_package_too_large_when_unpacked_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("word/document.xml", b"<" + b" " * 70_000_000)
    assert "terlalu besar" in _refusal(buffer.getvalue())


def test_each_sop_of_a_document_pairs_with_its_identity_table(tmp_path: Path) -> None:
    first = Document(str(write_sop_docx(CURATED["e-kinerja"], tmp_path / "a.docx")))
    second = Document(str(write_sop_docx(CURATED["penyusunan-lkj"], tmp_path / "b.docx")))
    for element in list(second.element.body)[:-1]:  # everything but the section settings
        first.element.body.insert(len(first.element.body) - 1, element)
    buffer = io.BytesIO()
    first.save(buffer)
    tables = docx_tables(buffer.getvalue(), source="dua.docx")
    assert len(tables) == 2
    sops = read_table_bytes(buffer.getvalue(), name="dua.docx")
    assert [sop.code for sop in sops] == ["e-kinerja", "penyusunan-lkj"]
    assert _differences(sops[1], CURATED["penyusunan-lkj"]) == []
