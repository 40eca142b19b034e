"""Loading the catalog: idempotent, versioned, all or nothing."""

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from db.engine import read_session, write_session
from db.models import Sop, SopVersion, Step
from services.bootstrap import initialise
from services.catalog.definition import CatalogError
from services.catalog.store import catalog_entry, current_catalog, entry_as_json, load_catalog
from services.catalog.yaml_io import catalog_files, read_catalog
from services.clock import utcnow
from tests.conftest import CATALOG_DIR


def _counts(engine: Engine) -> tuple[int, int]:
    with read_session(engine) as session:
        return (session.scalar(select(func.count()).select_from(SopVersion)),
                session.scalar(select(func.count()).select_from(Step)))


def test_initialise_loads_the_catalog_and_is_safe_to_repeat(engine: Engine) -> None:
    first = initialise(engine=engine, catalog_dir=CATALOG_DIR)
    assert {r.status for r in first} == {"created"}
    assert _counts(engine) == (5, 46)
    second = initialise(engine=engine, catalog_dir=CATALOG_DIR)
    assert {(r.code, r.version, r.status) for r in second} == {
        (r.code, 1, "unchanged") for r in first}
    assert _counts(engine) == (5, 46)


def test_stored_catalog_reads_back_as_the_files_say(engine: Engine) -> None:
    initialise(engine=engine, catalog_dir=CATALOG_DIR)
    files = {sop.code: sop for sop in read_catalog(catalog_files(CATALOG_DIR))}
    with read_session(engine) as session:
        stored = {entry.sop.code: entry.sop for entry in current_catalog(session)}
    for code, sop in files.items():
        assert replace(stored[code], source="") == replace(sop, source=""), code


def test_changed_definition_becomes_a_new_version_and_keeps_the_old(engine: Engine) -> None:
    initialise(engine=engine, catalog_dir=CATALOG_DIR)
    sops = read_catalog(catalog_files(CATALOG_DIR))
    lkj = next(s for s in sops if s.code == "penyusunan-lkj")
    steps = list(lkj.steps)
    steps[1] = replace(steps[1], waktu="30 Menit", target=replace(steps[1].target, minutes=30))
    with write_session(engine) as session:
        (result,) = load_catalog(session, sops=[replace(lkj, steps=tuple(steps))], now=utcnow())
    assert (result.version, result.status) == (2, "new_version")
    with read_session(engine) as session:
        entry = catalog_entry(session, code="penyusunan-lkj")
        assert entry.version == 2 and entry.sop.step(2).target.minutes == 30
        versions = session.scalars(select(SopVersion.version).join(SopVersion.sop)
                                   .where(SopVersion.name == lkj.name)).all()
    assert sorted(versions) == [1, 2]


def test_a_bad_file_leaves_the_database_untouched(engine: Engine, tmp_path: Path) -> None:
    for path in catalog_files(CATALOG_DIR):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    broken = tmp_path / "zz-rusak.yaml"
    broken.write_text((CATALOG_DIR / "e-kinerja.yaml").read_text(encoding="utf-8")
                      .replace("code: e-kinerja", "code: e-kinerja-2")
                      .replace("waktu: 1 jam", "waktu: sejam"), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"zz-rusak\.yaml, langkah 5, kolom 'waktu'"):
        initialise(engine=engine, catalog_dir=tmp_path)
    assert _counts(engine) == (0, 0)


def test_json_view_of_the_catalog(engine: Engine) -> None:
    initialise(engine=engine, catalog_dir=CATALOG_DIR)
    with read_session(engine) as session:
        entries = {e.sop.code: entry_as_json(e) for e in current_catalog(session)}
    lkj = entries["penyusunan-lkj"]
    assert set(lkj) == {"code", "name", "version", "origin", "lanes", "steps"}
    assert lkj["origin"] == "file"
    assert set(lkj["steps"][0]) == {"seq", "label", "activity", "role", "waktu", "target_kind",
                                   "target_minutes", "kelengkapan", "output", "decision"}
    assert lkj["steps"][3]["decision"] == {"approve": 5, "return": 3}


def test_every_step_is_stored_with_a_unique_label_beside_the_printed_one(engine: Engine) -> None:

    initialise(engine=engine, catalog_dir=CATALOG_DIR)
    with read_session(engine) as session:
        rows = session.execute(select(Sop.code, Step.seq, Step.label, Step.printed_label)
                               .join(SopVersion, Step.sop_version_id == SopVersion.id)
                               .join(Sop, SopVersion.sop_id == Sop.id)).all()
    labels: dict[str, list[str]] = {}
    for code, _seq, label, _printed in sorted(rows):
        labels.setdefault(code, []).append(label)
    assert all(len(set(found)) == len(found) and None not in found for found in labels.values())
    monev = {seq: (label, printed) for code, seq, label, printed in rows
             if code == "monev-kinerja-periodik"}
    assert monev[8] == ("9a", None) and monev[5] == ("6", "6")
    pengumpulan = {seq: (label, printed) for code, seq, label, printed in rows
                   if code == "pengumpulan-data-kinerja"}
    assert pengumpulan[11] == ("10a", "10")
