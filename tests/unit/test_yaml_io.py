"""Catalog files: the curated ones load; malformed ones fail with one line naming the place."""

from pathlib import Path

import pytest
import yaml

from services.catalog.definition import CatalogError
from services.catalog.yaml_io import (
    catalog_files,
    dump_sop_yaml,
    read_catalog,
    read_sop_file,
    read_sop_text,
    sop_to_data,
)
from tests.conftest import CATALOG_DIR

LKJ = CATALOG_DIR / "penyusunan-lkj.yaml"


def test_curated_catalog_has_the_five_seed_sops() -> None:
    sops = read_catalog(catalog_files(CATALOG_DIR))
    assert sorted(sop.code for sop in sops) == [
        "e-kinerja", "monev-kinerja-periodik", "pengumpulan-data-kinerja", "penyusunan-lkj",
        "perbaikan-data-kinerja",
    ]


def test_reference_performers_and_decisions_of_design_section_4() -> None:
    sops = {sop.code: sop for sop in read_catalog(catalog_files(CATALOG_DIR))}
    S, F, K, B, P, M = ("Sekretaris", "Fungsional", "Kadis", "Bidang", "Pengadministrasi",
                        "Pengelola Monev")
    expected = {
        "penyusunan-lkj": ([S, F, F, F, S, K, S, F], {4: 3, 5: 4, 6: 5}),
        "pengumpulan-data-kinerja": ([K, F, B, F, F, F, S, K, S, F, P], {7: 6, 8: 7}),
        "perbaikan-data-kinerja": ([K, S, F, P, F, S, K, S, F, P], {5: 4, 6: 5, 7: 6}),
        "e-kinerja": ([K, S, F, F, F, F, F], {5: 4}),
        "monev-kinerja-periodik": ([S, M, F, M, F, F, S, K, F, M], {}),
    }
    for code, (roles, returns) in expected.items():
        assert [step.role for step in sops[code].steps] == roles, code
        assert {s.seq: s.decision.return_to for s in sops[code].steps if s.decision} == returns
        assert all(s.decision.approve == s.seq + 1 for s in sops[code].steps if s.decision)
    assert sops["pengumpulan-data-kinerja"].step(3).multi_unit


def test_written_file_reads_back_to_the_same_definition() -> None:
    sop = read_sop_file(LKJ)
    again = read_sop_text(dump_sop_yaml(sop, header="komentar"), source=sop.source)
    assert again == sop
    assert again.content_hash() == sop.content_hash()


def _mutated(change) -> str:
    data = sop_to_data(read_sop_file(LKJ))
    change(data)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _error(text: str) -> str:
    with pytest.raises(CatalogError) as caught:
        read_sop_text(text, source="sops/rusak.yaml")
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_bad_waktu_names_file_step_and_field() -> None:
    message = _error(_mutated(lambda d: d["steps"][2].update(waktu="3 harian")))
    assert message.startswith("sops/rusak.yaml, langkah 3, kolom 'waktu': '3 harian' bukan")


def test_target_that_disagrees_with_waktu_is_refused() -> None:
    message = _error(_mutated(lambda d: d["steps"][2].update(target_minutes=1300)))
    assert message == ("sops/rusak.yaml, langkah 3, kolom 'target_minutes': Waktu berarti 1350 "
                       "menit kerja, bukan 1300")


def test_role_outside_the_lanes_is_refused() -> None:
    message = _error(_mutated(lambda d: d["steps"][0].update(role="Bidang")))
    assert message.startswith("sops/rusak.yaml, langkah 1, kolom 'role': Pelaksana 'Bidang' bukan")


def test_unknown_step_key_is_refused_as_a_typo() -> None:
    message = _error(_mutated(lambda d: d["steps"][4].update(ouput="x")))
    assert message == "sops/rusak.yaml, langkah 5, kolom 'ouput': kolom tidak dikenal (salah ketik?)"


def test_steps_out_of_order_are_refused() -> None:
    message = _error(_mutated(lambda d: d["steps"][1].update(seq=3)))
    assert message.startswith("sops/rusak.yaml, langkah 2, kolom 'seq': seq 3 harus 2")


def test_return_target_after_the_decision_is_refused() -> None:
    message = _error(_mutated(lambda d: d["steps"][3]["decision"].update({"return": 6})))
    assert message == ("sops/rusak.yaml, langkah 4, kolom 'decision.return': 'T' harus kembali ke "
                       "langkah sebelumnya")


def test_approve_must_continue_to_the_next_step() -> None:
    message = _error(_mutated(lambda d: d["steps"][3]["decision"].update(approve=7)))
    assert "langkah 4, kolom 'decision.approve'" in message


def test_missing_activity_is_refused() -> None:
    message = _error(_mutated(lambda d: d["steps"][0].pop("activity")))
    assert message == "sops/rusak.yaml, langkah 1, kolom 'activity': wajib diisi"


def test_missing_top_level_field_is_refused() -> None:
    assert _error(_mutated(lambda d: d.pop("lanes"))) == "sops/rusak.yaml, kolom 'lanes': wajib ada"


def test_bad_code_is_refused() -> None:
    assert "kolom 'code'" in _error(_mutated(lambda d: d.update(code="Penyusunan LKj")))


def test_yaml_syntax_error_names_the_line() -> None:
    assert _error("code: x\nname: [tidak ditutup\n").startswith(
        "sops/rusak.yaml: YAML tidak valid (baris 3)")


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rusak.yaml"
    path.write_bytes(b"code: x\nname: \xff\n")
    with pytest.raises(CatalogError, match="bukan teks UTF-8"):
        read_sop_file(path)


def test_two_files_with_one_code_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(LKJ.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(LKJ.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(CatalogError, match="code 'penyusunan-lkj' sudah dipakai"):
        read_catalog(catalog_files(tmp_path))
