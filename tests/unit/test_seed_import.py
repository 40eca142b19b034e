"""`import-sop` on the seed text against the curated catalog in sops/: field for field the same,
or the difference is a lint finding that says why the seed is ambiguous (the source lost its
swimlane marks and carries a few typos). docs/catalog.md, "The importer and the catalog"."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from services.catalog.lint import lint
from services.catalog.table_import import read_table_file
from services.catalog.yaml_io import catalog_files, read_catalog
from tests.conftest import CATALOG_DIR, SEED_FILE

# Which findings explain a difference in which field.
EXPLAINED_BY = {
    "role": {"performer-unmarked", "performer-against-handoff"},
    "decision": {"return-target-unnamed", "return-target-unresolved", "return-target-mismatch",
                 "decision-missing", "decision-without-wording"},
    "nama": {"approver-name-variant"},
    "pangkat": {"approver-rank-variant"},
    "instansi": {"repeated-word"},
}


def _differences() -> list[tuple[str, int | None, str, Any, Any]]:
    """(SOP code, step seq or None, field, imported value, curated value)."""
    imported = {sop.code: asdict(sop) for sop in read_table_file(SEED_FILE)}
    curated = {sop.code: asdict(sop) for sop in read_catalog(catalog_files(CATALOG_DIR))}
    assert imported.keys() == curated.keys()
    found = []
    for code, sop in curated.items():
        seed = imported[code]
        for key in ("code", "name", "lanes"):
            if seed[key] != sop[key]:
                found.append((code, None, key, seed[key], sop[key]))
        approver, seed_approver = sop["identity"]["disahkan_oleh"], seed["identity"]["disahkan_oleh"]
        for key, value in sop["identity"].items():
            if key != "disahkan_oleh" and seed["identity"][key] != value:
                found.append((code, None, key, seed["identity"][key], value))
        for key, value in approver.items():
            if seed_approver[key] != value:
                found.append((code, None, key, seed_approver[key], value))
        assert len(seed["steps"]) == len(sop["steps"]), code
        for seed_step, step in zip(seed["steps"], sop["steps"], strict=True):
            for key, value in step.items():
                if key != "interpretation_note" and seed_step[key] != value:
                    found.append((code, step["seq"], key, seed_step[key], value))
    return found


def test_every_difference_from_the_curated_catalog_is_a_lint_finding() -> None:
    curated = read_catalog(catalog_files(CATALOG_DIR))
    imported = read_table_file(SEED_FILE)
    findings = {(f.sop_code, f.step, f.kind) for f in lint(curated) + lint(imported)}
    unexplained = [difference for difference in _differences()
                   if not any((difference[0], difference[1], kind) in findings
                              for kind in EXPLAINED_BY.get(difference[2], ()))]
    assert unexplained == []


def test_the_importer_reads_what_the_text_says() -> None:
    """Every multi-unit step, decision and return target, every Mutu Baku, and every performer
    except the Monev readings a reviewer made without the text (their findings say so)."""
    differences = _differences()
    fields = {field for _, _, field, _, _ in differences}
    assert fields <= {"role", "nama", "pangkat", "instansi"}
    roles = {(code, seq) for code, seq, field, _, _ in differences if field == "role"}
    assert {code for code, _ in roles} == {"monev-kinerja-periodik"}
    assert len(differences) <= 9  # was 11 before the importer read hand-offs both ways
