"""Impor SOP (AppTest): an admin uploads Word documents, reviews them, corrects them in place
and publishes them; a case of the new SOP then starts and runs. Bad files are refused with one
message and store nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.engine import make_engine, read_session, write_session
from db.models import Case, Role, SopVersion, Unit
from services.accounts import load_actor
from services.catalog.store import catalog_entry
from services.catalog.yaml_io import read_sop_file
from services.clock import utcnow
from services.workflow import engine as wf
from services.workflow.model import Performer
from tests.conftest import CATALOG_DIR
from tests.docx_builder import surat_keluar, write_sop_docx
from tests.pages.conftest import run_ok, shown
from tests.pages.test_work_pages import button, fields

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
LKJ = read_sop_file(CATALOG_DIR / "penyusunan-lkj.yaml")


def _upload(app, *files: tuple[str, bytes]):
    app.file_uploader(key="impor-berkas").set_value([(name, data, DOCX) for name, data in files])
    return run_ok(app)


def _editor_key(app) -> str:
    (editor,) = app.data_editor
    return editor.key


def _versions(url: str) -> int:
    engine = make_engine(url)
    with read_session(engine) as session:
        count = session.scalar(select(func.count()).select_from(SopVersion)) or 0
    engine.dispose()
    return count


def test_upload_review_edit_publish_then_start_a_case(signed_in, app_database,
                                                      tmp_path: Path) -> None:
    document = write_sop_docx(surat_keluar(), tmp_path / "SOP Surat Keluar.docx")
    app = signed_in("admin", "impor")
    assert [t.value for t in app.title] == ["Impor SOP"]
    _upload(app, (document.name, document.read_bytes()))
    assert [h.value for h in app.subheader] == ["Surat Keluar"]
    grid = app.data_editor[0].value
    assert grid["Pelaksana"].tolist() == ["Kasubbag Umum", "Sekretaris", "Kadis", "Kasubbag Umum"]
    assert grid["T kembali ke"].tolist() == ["–", "1", "–", "–"]  # the diamond of step 2
    # The linter's findings sit beside the step they concern: step 2 returns the work to a
    # Kasubbag Umum the text's roles do not know.
    assert grid.loc[1, "Temuan"].startswith("Peringatan: teks keputusan tidak menyebut")
    assert grid.loc[0, "Temuan"] == ""
    assert any(tab.label == "SOP baru" for tab in app.tabs)
    assert app.get("graphviz_chart"), "the flowchart is drawn"
    assert "Kasubbag Umum" in app.get("graphviz_chart")[0].proto.spec

    # Edit in place: step 1 takes 45 minutes and step 3 decides, sending "T" back to step 1.
    app.session_state[_editor_key(app)] = {
        "edited_rows": {0: {"Waktu": "45 Menit"}, 2: {"T kembali ke": "1"}},
        "added_rows": [], "deleted_rows": []}
    run_ok(app)
    assert not app.error, [shown(e) for e in app.error]
    flowchart = app.get("graphviz_chart")[0].proto.spec
    assert "[45 Menit]" in flowchart and 'xlabel="T"' in flowchart

    button(app, "Terbitkan sebagai versi 1").click()
    run_ok(app)
    assert shown(app.error[0]) == ("Pelaksana baru belum dikonfirmasi: Kasubbag Umum. Centang "
                                   "konfirmasi Pelaksana baru, lalu terbitkan lagi.")
    assert _versions(app_database) == 5
    next(c for c in app.checkbox if c.label.startswith("Buat Pelaksana baru")).check()
    button(app, "Terbitkan sebagai versi 1").click()
    run_ok(app)
    assert shown(app.success[0]).startswith("SOP 'Surat Keluar' diterbitkan sebagai versi 1.")
    assert any("Sama dengan versi 1 yang berlaku" in shown(i) for i in app.info)

    engine = make_engine(app_database)
    with read_session(engine) as session:
        entry = catalog_entry(session, code="surat-keluar")
        assert session.scalar(select(Role.id).where(Role.name == "Kasubbag Umum"))
        assert session.scalar(select(Unit.id).where(Unit.name == "Bidang Pengembangan Koleksi"))
    assert entry is not None and entry.origin == "app"
    assert entry.sop.step(1).waktu == "45 Menit"
    assert entry.sop.step(3).decision is not None and entry.sop.step(3).decision.return_to == 1

    start = signed_in("fungsional", "mulai")
    start.selectbox[0].select("surat-keluar").run()
    fields(start)["Judul kasus"].input("Surat Keluar Nomor 7")
    button(start, "Mulai kasus").click()
    run_ok(start)
    assert [t.value for t in start.title] == ["Catat Langkah"]
    assert shown(start.success[0]).endswith("Berikutnya: langkah 1, dipegang Kasubbag Umum.")
    with write_session(engine) as session:
        case = session.scalar(select(Case).where(Case.title == "Surat Keluar Nomor 7"))
        assert case is not None and case.sop_version_id == entry.version_id
        recorded = wf.record_step(session, actor=load_actor(session, username="fungsional"),
                                  case_id=case.id, kind="complete", seq=1,
                                  performer=Performer.UNKNOWN, at=case.last_event_at,
                                  now=utcnow())
    assert recorded.next_label == "2" and recorded.next_role == "Sekretaris"
    engine.dispose()


def test_a_known_sop_shows_what_changes_against_the_version_in_force(
        signed_in, app_database, tmp_path: Path) -> None:
    document = write_sop_docx(LKJ, tmp_path / "lkj.docx")
    app = signed_in("admin", "impor")
    _upload(app, (document.name, document.read_bytes()))
    assert any("Sama dengan versi 1 yang berlaku" in shown(i) for i in app.info)
    assert not [b for b in app.button if b.label.startswith("Terbitkan")]
    app.session_state[_editor_key(app)] = {
        "edited_rows": {2: {"Pelaksana": "Sekretaris"}}, "added_rows": [], "deleted_rows": []}
    run_ok(app)
    differences = next(t for t in app.tabs if t.label == "Perbedaan dengan versi berlaku")
    (table,) = differences.dataframe
    assert table.value[["Langkah", "Kolom", "Versi berlaku", "Versi baru"]].to_numpy().tolist() \
        == [["3", "Pelaksana", "Fungsional", "Sekretaris"]]
    button(app, "Terbitkan sebagai versi 2").click()
    run_ok(app)
    assert shown(app.success[0]).startswith("SOP 'Penyusunan Laporan Kinerja' diterbitkan "
                                            "sebagai versi 2.")


def test_an_edit_the_catalog_cannot_hold_is_refused_beside_the_grid(
        signed_in, app_database, tmp_path: Path) -> None:
    document = write_sop_docx(LKJ, tmp_path / "lkj.docx")
    app = signed_in("admin", "impor")
    _upload(app, (document.name, document.read_bytes()))
    app.session_state[_editor_key(app)] = {
        "edited_rows": {1: {"Waktu": "sebentar"}}, "added_rows": [], "deleted_rows": []}
    run_ok(app)
    assert shown(app.error[0]).startswith("Langkah 2, kolom Waktu: 'sebentar' bukan bentuk Waktu")
    assert not [b for b in app.button if b.label.startswith("Terbitkan")]


@pytest.mark.parametrize(("name", "data", "message"), [
    ("sop.docx", b"bukan dokumen Word",
     "sop.docx: bukan dokumen Word (.docx). Unggah berkas yang disimpan sebagai dokumen Word "
     "(.docx)."),
    ("rahasia.docx",
     b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptedPackage".encode("utf-16-le"),
     "rahasia.docx: berkas dilindungi kata sandi. Buka di Word atau Excel, hapus kata sandinya, "
     "simpan, lalu unggah lagi."),
    ("laporan.pdf", b"%PDF-1.7",
     "laporan.pdf: jenis berkas tidak dikenal. Unggah .docx, .txt, .csv atau .xlsx."),
])
def test_a_bad_file_gets_one_message_and_nothing_is_stored(signed_in, app_database, name: str,
                                                           data: bytes, message: str) -> None:
    app = signed_in("admin", "impor")
    _upload(app, (name, data))
    assert [shown(e) for e in app.error] == [message]
    assert not app.data_editor and not app.exception
    assert _versions(app_database) == 5


def test_several_files_each_reviewed_a_bad_one_does_not_stop_the_others(
        signed_in, app_database, tmp_path: Path) -> None:
    good = write_sop_docx(surat_keluar(), tmp_path / "surat.docx")
    app = signed_in("admin", "impor")
    _upload(app, ("rusak.docx", b"x"), (good.name, good.read_bytes()))
    assert len(app.error) == 1 and [h.value for h in app.subheader] == ["Surat Keluar"]


def test_only_admins_may_open_it(signed_in) -> None:
    app = signed_in("sekretaris", "impor")
    assert shown(app.error[0]) == "Halaman ini tidak tersedia untuk peran Anda."
    assert not app.file_uploader
    admin = signed_in("admin")
    assert "Impor SOP" in {link.proto.label for link in admin.sidebar.get("page_link")}
