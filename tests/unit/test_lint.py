from dataclasses import replace

from services.catalog.definition import Approver, Decision, Identity, SopDef, StepDef
from services.catalog.lint import lint, normalised_name
from services.catalog.table_import import read_table_file
from services.catalog.waktu import Target
from services.catalog.yaml_io import catalog_files, read_catalog
from tests.conftest import CATALOG_DIR, SEED_FILE


def _kinds(findings, code=None):
    return {(f.sop_code, f.kind, f.step) for f in findings if code in (None, f.sop_code)}


def test_seed_findings_a_reviewer_must_see() -> None:
    findings = lint(read_table_file(SEED_FILE))
    kinds = _kinds(findings)
    assert ("pengumpulan-data-kinerja", "duplicate-number", 11) in kinds
    assert ("monev-kinerja-periodik", "numbering-gap", None) in kinds
    assert ("monev-kinerja-periodik", "unnumbered", 8) in kinds
    assert ("pengumpulan-data-kinerja", "role-typo", 7) in kinds
    assert ("penyusunan-lkj", "approver-name-variant", None) in kinds
    assert ("pengumpulan-data-kinerja", "missing-mutu-baku", 1) in kinds
    assert ("e-kinerja", "return-target-unnamed", 5) in kinds
    gap = next(f for f in findings if f.kind == "numbering-gap")
    assert gap.message == "penomoran melompat: nomor 5, 7 dan 11 tidak ada"
    karo = next(f for f in findings if f.kind == "role-typo")
    assert "'Karo'" in karo.message and "Kadis" in karo.message
    name = next(f for f in findings if f.kind == "approver-name-variant")
    assert "Sudeng" in name.message and "Sugeng" in name.message.replace("SUGENG", "Sugeng")


def test_curated_catalog_keeps_the_source_findings_but_no_unresolved_decision() -> None:
    findings = lint(read_catalog(catalog_files(CATALOG_DIR)))
    kinds = {f.kind for f in findings}
    assert {"duplicate-number", "numbering-gap", "unnumbered", "role-typo",
            "performer-against-handoff", "performer-unmarked"} <= kinds
    # The seed's typos in the identity block are corrected in the catalog.
    assert not kinds & {"approver-name-variant", "repeated-word"}
    assert not kinds & {"decision-missing", "return-target-mismatch", "return-target-unresolved"}


def _sop(*steps: StepDef, lanes=("Fungsional", "Sekretaris")) -> SopDef:
    return SopDef(code="contoh", name="Contoh", lanes=lanes, steps=steps)


def _step(seq: int, role: str, activity: str = "Menyusun laporan", **kwargs) -> StepDef:
    defaults = dict(kelengkapan="data", waktu="10 Menit", target=Target("minutes", 10), output="x")
    return StepDef(seq=seq, label=str(seq), activity=activity, role=role, **{**defaults, **kwargs})


def test_clean_sop_has_no_findings() -> None:
    sop = _sop(
        _step(1, "Fungsional", "Menyusun konsep dan menyampaikan kepada Sekretaris"),
        _step(2, "Sekretaris", "Memeriksa konsep, jika tidak setuju dikembalikan kepada "
              "Fungsional, jika setuju diparaf dan diserahkan kepada Fungsional",
              decision=Decision(3, 1)),
        _step(3, "Fungsional", "Mengarsipkan"),
    )
    assert lint([sop]) == []


def test_decision_wording_without_a_configured_decision_is_reported() -> None:
    sop = _sop(_step(1, "Fungsional", "Menyusun laporan dan menyampaikan kepada Sekretaris"),
               _step(2, "Sekretaris", "Memeriksa, jika tidak setuju dikembalikan kepada "
                     "Fungsional, jika setuju diserahkan kepada Fungsional"),
               _step(3, "Fungsional"))
    assert _kinds(lint([sop])) == {("contoh", "decision-missing", 2)}


def test_configured_return_that_disagrees_with_the_text_is_reported() -> None:
    sop = _sop(_step(1, "Fungsional"), _step(2, "Sekretaris"),
               _step(3, "Sekretaris", "Memeriksa, jika tidak setuju dikembalikan kepada "
                     "Fungsional", decision=Decision(4, 2)),
               _step(4, "Fungsional"))
    assert ("contoh", "return-target-mismatch", 3) in _kinds(lint([sop]))


def test_return_to_a_role_with_no_earlier_step_is_unresolved() -> None:
    sop = _sop(_step(1, "Sekretaris"),
               _step(2, "Sekretaris", "Memeriksa, jika tidak setuju dikembalikan kepada Fungsional"),
               _step(3, "Fungsional"))
    assert ("contoh", "return-target-unresolved", 2) in _kinds(lint([sop]))


def test_role_named_in_text_but_not_a_lane_is_reported() -> None:
    sop = _sop(_step(1, "Sekretaris", "Memerintahkan Arsiparis untuk mengarsipkan"),
               lanes=("Sekretaris",))
    (finding,) = lint([sop])
    assert finding.kind == "role-not-lane" and "Pengadministrasi" in finding.message


def test_performers_the_text_does_not_give_are_reported() -> None:
    sop = _sop(_step(1, "Sekretaris", "Menyusun dan menyampaikan kepada Fungsional"),
               _step(2, "Sekretaris", "Memeriksa"),  # handed to Fungsional, not Sekretaris
               _step(3, "Fungsional", "Mengarsipkan"),  # a change without a hand-off
               _step(4, "Sekretaris", "Menerima"),
               _step(5, "Fungsional", "Menghimpun dari Sekretaris"))  # "dari" names step 4
    assert {(kind, step) for _, kind, step in _kinds(lint([sop]))} == {
        ("performer-unmarked", 1), ("performer-against-handoff", 2),
        ("performer-unmarked", 3), ("performer-unmarked", 5)}


def test_a_repeated_word_in_the_agency_header_is_reported() -> None:
    sop = replace(_sop(_step(1, "Fungsional")), identity=Identity(
        instansi=("PEMERINTAH PROVINSI KALIMANTAN BARAT BARAT",)))
    (finding,) = [f for f in lint([sop]) if f.kind != "idle-lane"]
    assert (finding.kind, finding.severity) == ("repeated-word", "warning")


def test_approver_variants_are_compared_by_nip() -> None:
    def with_name(code: str, nama: str) -> SopDef:
        identity = Identity(disahkan_oleh=Approver(nama=nama, nip="1"))
        return replace(_sop(_step(1, "Sekretaris"), lanes=("Sekretaris",)), code=code,
                       identity=identity)

    findings = lint([with_name("a", "Drs. SUGENG HARIADI, M.M."),
                     with_name("b", "Drs. Sugeng Hariadi, MM."),
                     with_name("c", "Drs. Sudeng Hariadi, MM.")])
    assert [(f.sop_code, f.kind) for f in findings] == [("c", "approver-name-variant")]
    assert normalised_name("Drs. SUGENG HARIADI, M.M.") == "sugeng hariadi"
