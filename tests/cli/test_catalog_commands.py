"""manage.py catalog commands, run as an admin would run them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CATALOG_DIR, REPO_ROOT, SEED_FILE


def manage(*args: str, database_url: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PANTAU_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, str(REPO_ROOT / "manage.py"), *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    """A database that does not exist yet: init must create it."""
    return f"sqlite:///{tmp_path / 'data' / 'pantau.db'}"


def test_init_creates_then_changes_nothing_when_run_again(empty_sqlite_url: str) -> None:
    first = manage("init", database_url=empty_sqlite_url)
    assert first.returncode == 0, first.stderr
    assert "penyusunan-lkj: versi 1 (baru)" in first.stdout
    second = manage("init", database_url=empty_sqlite_url)
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("(tidak berubah)") == 5


def test_sops_json_on_each_backend(database_url: str) -> None:
    assert manage("init", database_url=database_url).returncode == 0
    result = manage("sops", "--json", database_url=database_url)
    assert result.returncode == 0, result.stderr
    sops = {sop["code"]: sop for sop in json.loads(result.stdout)}
    assert {code: len(sop["steps"]) for code, sop in sops.items()} == {
        "penyusunan-lkj": 8, "pengumpulan-data-kinerja": 11, "perbaikan-data-kinerja": 10,
        "e-kinerja": 7, "monev-kinerja-periodik": 10}
    lkj = sops["penyusunan-lkj"]["steps"]
    assert (lkj[2]["waktu"], lkj[2]["target_kind"], lkj[2]["target_minutes"]) == (
        "3 hari", "minutes", 1350)
    assert [s["role"] for s in lkj] == ["Sekretaris", "Fungsional", "Fungsional", "Fungsional",
                                        "Sekretaris", "Kadis", "Sekretaris", "Fungsional"]
    assert [s["decision"] for s in lkj if s["decision"]] == [
        {"approve": 5, "return": 3}, {"approve": 6, "return": 4}, {"approve": 7, "return": 5}]
    ekinerja = sops["e-kinerja"]["steps"]
    assert (ekinerja[5]["waktu"], ekinerja[5]["target_minutes"]) == ("4 jam", 240)
    monev = sops["monev-kinerja-periodik"]["steps"][4]
    assert (monev["label"], monev["target_kind"], monev["target_minutes"]) == ("6", "schedule", None)
    first = sops["pengumpulan-data-kinerja"]["steps"][0]
    assert (first["waktu"], first["target_kind"], first["target_minutes"]) == ("", "none", None)


def test_sops_on_an_uninitialised_database_says_what_to_do(empty_sqlite_url: str) -> None:
    result = manage("sops", database_url=empty_sqlite_url)
    assert result.returncode == 2
    assert "python manage.py init" in result.stderr
    assert "Traceback" not in result.stderr


def test_import_sop_writes_yaml_for_every_sop_in_the_seed(tmp_path: Path, empty_sqlite_url: str) -> None:
    out = tmp_path / "katalog"
    result = manage("import-sop", str(SEED_FILE), "--out", str(out), database_url=empty_sqlite_url)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.glob("*.yaml")) == sorted(
        p.name for p in CATALOG_DIR.glob("*.yaml"))
    again = manage("import-sop", str(SEED_FILE), "--out", str(out), database_url=empty_sqlite_url)
    assert again.returncode == 1 and again.stdout.count("sudah ada") == 5


def test_import_sop_reads_a_word_document_into_catalog_yaml(tmp_path: Path,
                                                           empty_sqlite_url: str) -> None:
    from services.catalog.yaml_io import read_sop_file
    from tests.docx_builder import write_sop_docx

    curated = read_sop_file(CATALOG_DIR / "pengumpulan-data-kinerja.yaml")
    document = write_sop_docx(curated, tmp_path / "SOP Pengumpulan.docx")
    out = tmp_path / "katalog"
    result = manage("import-sop", str(document), "--out", str(out), database_url=empty_sqlite_url)
    assert result.returncode == 0, result.stderr
    written = read_sop_file(out / "pengumpulan-data-kinerja.yaml")
    assert [(s.role, s.decision, s.multi_unit) for s in written.steps] == [
        (s.role, s.decision, s.multi_unit) for s in curated.steps]


def test_import_sop_refuses_a_bad_word_file_in_one_line(tmp_path: Path,
                                                        empty_sqlite_url: str) -> None:
    fake = tmp_path / "sop.docx"
    fake.write_text("bukan dokumen", encoding="utf-8")
    result = manage("import-sop", str(fake), "--out", str(tmp_path), database_url=empty_sqlite_url)
    assert result.returncode == 2
    assert result.stderr.strip() == ("galat: sop.docx: bukan dokumen Word (.docx). Unggah berkas "
                                     "yang disimpan sebagai dokumen Word (.docx)")


def test_lint_sops_on_the_seed_reports_what_a_reviewer_must_fix(empty_sqlite_url: str) -> None:
    result = manage("lint-sops", str(SEED_FILE), database_url=empty_sqlite_url)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "nomor '10' dipakai 2 kali" in out
    assert "penomoran melompat: nomor 5, 7 dan 11 tidak ada" in out
    assert "baris tanpa nomor" in out
    assert "'Karo' bukan Pelaksana" in out
    assert "Sudeng" in out and "sugeng hariadi" in out.casefold()


def test_lint_sops_strict_fails_on_warnings(empty_sqlite_url: str) -> None:
    assert manage("lint-sops", "--strict", database_url=empty_sqlite_url).returncode == 1


def test_malformed_catalog_gives_one_line_and_loads_nothing(tmp_path: Path, empty_sqlite_url: str) -> None:
    catalog = tmp_path / "sops"
    catalog.mkdir()
    good = (CATALOG_DIR / "penyusunan-lkj.yaml").read_text(encoding="utf-8")
    (catalog / "a.yaml").write_text(good, encoding="utf-8")
    (catalog / "b.yaml").write_text(
        good.replace("code: penyusunan-lkj", "code: lain").replace("role: Kadis", "role: Karo"),
        encoding="utf-8")
    result = manage("init", "--catalog", str(catalog), database_url=empty_sqlite_url)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("galat: ") and "b.yaml, langkah 6, kolom 'role'" in lines[0]
    assert "Katalog kosong" in manage("sops", database_url=empty_sqlite_url).stdout
