"""Publishing an imported SOP as a catalog version, on SQLite and PostgreSQL: the same validation
as sops/, new Pelaksana only after confirmation, units matched or created, running cases kept
on their version, and `init` not undoing what the app published (docs/catalog.md)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.engine import read_session, write_session
from db.models import Case, Role, SopVersion, Unit
from services.bootstrap import initialise
from services.catalog.definition import SopDef
from services.catalog.publish import (
    apply_edits,
    editable_steps,
    publish_sop,
    read_upload,
    review,
)
from services.catalog.store import catalog_entry, current_catalog, entry_as_json
from services.catalog.yaml_io import read_sop_file
from services.errors import InvalidInput, PermissionDenied
from services.workflow import engine as wf
from tests.conftest import CATALOG_DIR
from tests.docx_builder import surat_keluar, write_sop_docx
from tests.organisation import NOW, Organisation, wib

LKJ = read_sop_file(CATALOG_DIR / "penyusunan-lkj.yaml")


def _upload(sop: SopDef, tmp_path: Path) -> SopDef:
    path = write_sop_docx(sop, tmp_path / f"{sop.code}.docx")
    (read,) = read_upload(name=path.name, data=path.read_bytes())
    return read


def test_a_new_sop_needs_its_new_pelaksana_confirmed_then_creates_role_and_unit(
        org: Organisation, tmp_path: Path) -> None:
    sop = _upload(surat_keluar(), tmp_path)
    with read_session(org.engine) as session:
        plan = review(session, sop=sop)
    assert plan.current_version is None and plan.new_roles == ("Kasubbag Umum",)
    assert [(u.name, u.kind, u.existing) for u in plan.units] == [
        ("Bidang Pengembangan Koleksi", "bidang", None)]
    with pytest.raises(InvalidInput, match="Pelaksana baru belum dikonfirmasi: Kasubbag Umum"), \
            write_session(org.engine) as session:
        publish_sop(session, actor=org.actor("admin"), sop=sop, confirmed_roles=(), now=NOW)
    with read_session(org.engine) as session:
        assert catalog_entry(session, code="surat-keluar") is None
        assert session.scalar(select(Role).where(Role.name == "Kasubbag Umum")) is None
    with write_session(org.engine) as session:
        published = publish_sop(session, actor=org.actor("admin"), sop=sop,
                                confirmed_roles=("Kasubbag Umum",), now=NOW)
    assert (published.version, published.status, published.roles_created,
            published.units_created) == (1, "created", ("Kasubbag Umum",),
                                         ("Bidang Pengembangan Koleksi",))
    with read_session(org.engine) as session:
        entry = catalog_entry(session, code="surat-keluar")
        unit = session.scalar(select(Unit).where(Unit.name == "Bidang Pengembangan Koleksi"))
        assert unit is not None and unit.kind == "bidang"
        listed = {e.sop.code: entry_as_json(e) for e in current_catalog(session)}
    assert entry is not None and entry.origin == "app"
    assert [s.role for s in entry.sop.steps] == ["Kasubbag Umum", "Sekretaris", "Kadis",
                                                 "Kasubbag Umum"]
    assert entry.sop.step(2).decision == surat_keluar().step(2).decision
    assert listed["surat-keluar"]["origin"] == "app"
    assert listed["penyusunan-lkj"]["origin"] == "file"


def test_an_existing_unit_is_matched_not_created(org: Organisation, tmp_path: Path) -> None:
    sop = _upload(LKJ, tmp_path)  # "SEKRETARIAT" in its header: the Sekretariat unit
    with read_session(org.engine) as session:
        plan = review(session, sop=sop)
    assert [(u.name, u.existing) for u in plan.units] == [("Sekretariat", "Sekretariat")]
    assert plan.unchanged and plan.differences.empty


def test_a_new_version_leaves_running_cases_on_theirs_and_init_keeps_it(
        org: Organisation, tmp_path: Path) -> None:
    with write_session(org.engine) as session:
        running = wf.start_case(session, actor=org.actor("fungsional"), sop_code="penyusunan-lkj",
                                title="LKj 2025", at=wib(2026, 3, 2, 8), now=NOW).case_id
    sop = _upload(LKJ, tmp_path)
    grid = editable_steps(sop, findings={})
    grid.loc[1, "Waktu"] = "45 Menit"
    grid.loc[2, "Pelaksana"] = "Sekretaris"
    edited = apply_edits(sop, edited=grid)
    with read_session(org.engine) as session:
        plan = review(session, sop=edited)
    assert plan.current_version == 1
    shown = plan.differences[["Langkah", "Kolom", "Versi berlaku", "Versi baru"]]
    assert shown.to_numpy().tolist() == [
        ["2", "Waktu", "20 Menit", "45 Menit"], ["3", "Pelaksana", "Fungsional", "Sekretaris"]]
    with write_session(org.engine) as session:
        published = publish_sop(session, actor=org.actor("admin"), sop=edited,
                                confirmed_roles=(), now=NOW)
    assert (published.version, published.status) == (2, "new_version")
    with write_session(org.engine) as session:
        fresh = wf.start_case(session, actor=org.actor("fungsional"), sop_code="penyusunan-lkj",
                              title="LKj 2026", at=wib(2026, 3, 3, 8), now=NOW).case_id
    initialise(engine=org.engine, catalog_dir=CATALOG_DIR)  # the file did not change
    with read_session(org.engine) as session:
        versions = {case_id: version for case_id, version in session.execute(
            select(Case.id, SopVersion.version)
            .join(SopVersion, Case.sop_version_id == SopVersion.id))}
        entry = catalog_entry(session, code="penyusunan-lkj")
    assert versions == {running: 1, fresh: 2}
    assert entry is not None and entry.version == 2 and entry.sop.step(2).waktu == "45 Menit"


def test_a_changed_file_still_wins_at_the_next_init(org: Organisation, tmp_path: Path) -> None:
    sop = _upload(replace(LKJ, name="Penyusunan Laporan Kinerja"), tmp_path)
    grid = editable_steps(sop, findings={})
    grid.loc[0, "Output"] = "disposisi tertulis"
    with write_session(org.engine) as session:
        publish_sop(session, actor=org.actor("admin"), sop=apply_edits(sop, edited=grid),
                    confirmed_roles=(), now=NOW)
    catalog = tmp_path / "sops"
    catalog.mkdir()
    text = (CATALOG_DIR / "penyusunan-lkj.yaml").read_text(encoding="utf-8")
    (catalog / "penyusunan-lkj.yaml").write_text(text.replace("output: disposisi\n",
                                                              "output: lembar disposisi\n"),
                                                 encoding="utf-8")
    initialise(engine=org.engine, catalog_dir=catalog)
    with read_session(org.engine) as session:
        entry = catalog_entry(session, code="penyusunan-lkj")
    assert entry is not None and (entry.version, entry.origin) == (3, "file")
    assert entry.sop.step(1).output == "lembar disposisi"


def _versions(org: Organisation) -> int:
    with read_session(org.engine) as session:
        return session.scalar(select(func.count()).select_from(SopVersion)) or 0


def test_refusals_store_nothing(org: Organisation, tmp_path: Path) -> None:
    before = _versions(org)
    sop = _upload(surat_keluar(), tmp_path)
    with pytest.raises(PermissionDenied), write_session(org.engine) as session:
        publish_sop(session, actor=org.actor("sekretaris"), sop=sop,
                    confirmed_roles=("Kasubbag Umum",), now=NOW)
    unplaced = replace(sop, steps=tuple(replace(s, role=None) if s.seq == 2 else s
                                        for s in sop.steps))
    with pytest.raises(InvalidInput, match=r"^Langkah 2, kolom Pelaksana: wajib diisi\.$"), \
            write_session(org.engine) as session:
        publish_sop(session, actor=org.actor("admin"), sop=unplaced,
                    confirmed_roles=("Kasubbag Umum",), now=NOW)
    with pytest.raises(InvalidInput, match="sama dengan versi 1 yang berlaku"), \
            write_session(org.engine) as session:
        publish_sop(session, actor=org.actor("admin"), sop=_upload(LKJ, tmp_path),
                    confirmed_roles=(), now=NOW)
    assert _versions(org) == before


def test_edits_that_the_catalog_cannot_hold_are_refused_by_step() -> None:
    grid = editable_steps(LKJ, findings={})
    grid.loc[1, "Waktu"] = "sebentar"
    with pytest.raises(InvalidInput, match=r"^Langkah 2, kolom Waktu: 'sebentar' bukan bentuk"):
        apply_edits(LKJ, edited=grid)
    grid = editable_steps(LKJ, findings={})
    grid.loc[1, "T kembali ke"] = "5"
    with pytest.raises(InvalidInput, match="^Langkah 2: 'T' harus kembali ke langkah sebelumnya"):
        apply_edits(LKJ, edited=grid)
    grid = editable_steps(LKJ, findings={})
    grid.loc[2, "Multi-unit"] = True
    grid.loc[1, "T kembali ke"] = "1"
    edited = apply_edits(LKJ, edited=grid)
    assert edited.step(3).multi_unit and edited.step(2).decision is not None
    assert edited.step(2).decision.return_to == 1


def test_a_bad_upload_is_one_message() -> None:
    with pytest.raises(InvalidInput) as caught:
        read_upload(name="sop.docx", data=b"bukan dokumen")
    assert str(caught.value) == ("sop.docx: bukan dokumen Word (.docx). Unggah berkas yang "
                                 "disimpan sebagai dokumen Word (.docx).")
