"""manage.py demo, metrics, export-events and import-events."""

import json
from pathlib import Path

import pytest

from tests.cli.test_catalog_commands import manage

AS_OF = "2026-11-20T09:00:00+07:00"


@pytest.fixture
def demo_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert manage("init", database_url=url).returncode == 0
    result = manage("demo", "--seed", "5", "--years", "1", "--until", AS_OF, database_url=url)
    assert result.returncode == 0, result.stderr
    assert "Data demo dimuat" in result.stdout and "[100%] Selesai" in result.stderr
    return url


def test_metrics_json_has_the_documented_shape(demo_url: str) -> None:
    result = manage("metrics", "--json", "--as-of", AS_OF, database_url=demo_url)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"as_of", "totals", "sops", "pending"}
    assert document["as_of"] == AS_OF
    figures = {"cases", "compliance_rate", "returns", "return_rate", "revision_rate",
               "lead_time_minutes", "pending"}
    assert set(document["totals"]) == figures
    sop = document["sops"][0]
    assert set(sop) == {"code", "steps", *figures}
    assert set(sop["cases"]) == {"total", "active", "completed", "cancelled"}
    assert set(sop["lead_time_minutes"]) == {"median", "p90"}
    assert set(sop["pending"]) == {"total", "overdue", "at_risk"}
    assert set(sop["steps"][0]) == {"seq", "label", "role", "target_minutes", "visits_ended",
                                    "duration_minutes", "within_target", "returns",
                                    "overrun_minutes", "open_visits"}
    assert set(sop["steps"][0]["duration_minutes"]) == {"median", "p90", "mean"}
    assert all(0 <= s["compliance_rate"] <= 1 for s in document["sops"])
    assert set(document["pending"][0]) == {"case_id", "sop_code", "seq", "label", "role", "unit",
                                           "available_at", "age_minutes", "target_minutes",
                                           "sla_state"}
    assert document["totals"]["pending"]["total"] == len(document["pending"])


def test_exported_csv_reimports_through_the_cli_to_the_same_metrics(demo_url: str,
                                                                    tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    assert manage("export-events", "--format", "csv", "--out", str(log),
                  database_url=demo_url).returncode == 0
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    manage("init", database_url=copy)  # an empty database: the catalog, no people, no cases
    imported = manage("import-events", str(log), database_url=copy)
    assert imported.returncode == 0, imported.stderr
    original = manage("metrics", "--json", "--as-of", AS_OF, database_url=demo_url).stdout
    again = manage("metrics", "--json", "--as-of", AS_OF, database_url=copy).stdout
    assert json.loads(again) == json.loads(original)


def test_xes_export_writes_a_log(demo_url: str, tmp_path: Path) -> None:
    out = tmp_path / "log.xes"
    result = manage("export-events", "--format", "xes", "--out", str(out), database_url=demo_url)
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8").startswith('<?xml version="1.0" encoding="UTF-8"?>')


def test_bad_import_names_the_line_and_changes_nothing(demo_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("case_id,sop_code,sop_version,step,event,timestamp,performer_role,unit,"
                   "performer,recorded_by,note\nX,e-kinerja,,,start,2026-01-05 08:00,,,,,Judul\n"
                   "X,e-kinerja,,3,complete,2026-01-05 09:00,,,,,\n", encoding="utf-8")
    before = manage("metrics", "--json", "--as-of", AS_OF, database_url=demo_url).stdout
    result = manage("import-events", str(bad), database_url=demo_url)
    assert result.returncode == 2
    assert result.stderr.strip() == ("galat: Baris 3: Langkah 3 tidak sedang berjalan; langkah "
                                     "yang berjalan adalah langkah 1 (Kadis).")
    assert manage("metrics", "--json", "--as-of", AS_OF, database_url=demo_url).stdout == before


def test_a_closed_period_stands_at_its_end(demo_url: str) -> None:
    """--period of a closed semester: as of its end, pending at that instant, and the same
    figures as --as-of that end with the period."""
    result = manage("metrics", "--json", "--period", "2026-S1", database_url=demo_url)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["as_of"] == "2026-07-01T00:00:00+07:00"
    assert document["period"] == {"text": "2026-S1", "label": "Semester I 2026",
                                  "start": "2026-01-01T00:00:00+07:00",
                                  "end": "2026-07-01T00:00:00+07:00"}
    assert all(item["available_at"] < document["as_of"] for item in document["pending"])
    explicit = json.loads(manage("metrics", "--json", "--period", "2026-S1", "--as-of",
                                 "2026-07-01T00:00:00+07:00", database_url=demo_url).stdout)
    assert explicit == document
    now = json.loads(manage("metrics", "--json", "--as-of", AS_OF, database_url=demo_url).stdout)
    assert now["totals"] != document["totals"]


def test_an_unreadable_period_is_refused(demo_url: str) -> None:
    result = manage("metrics", "--json", "--period", "2026-S3", database_url=demo_url)
    assert result.returncode == 2 and "periode tidak dikenali" in result.stderr
    assert "Traceback" not in result.stderr


def test_report_writes_the_period_files(demo_url: str, tmp_path: Path) -> None:
    out = tmp_path / "laporan"
    result = manage("report", "--period", "2026-S1", "--out", str(out), database_url=demo_url)
    assert result.returncode == 0, result.stderr
    assert "Laporan Semester I 2026: 7 berkas" in result.stdout
    assert sorted(path.name for path in out.iterdir()) == sorted([
        "tabel7-monitoring-2026-S1.pdf", "tabel7-monitoring-2026-S1.xlsx",
        "evaluasi-sop-2026-S1.pdf", "evaluasi-sop-2026-S1.xlsx",
        "laporan-manajemen-2026-S1.xlsx", "log-kejadian-2026-S1.csv",
        "log-kejadian-2026-S1.xes"])
    assert (out / "tabel7-monitoring-2026-S1.pdf").read_bytes().startswith(b"%PDF")
    assert "[100%] Selesai" in result.stderr


def test_report_refuses_an_unreadable_period(demo_url: str, tmp_path: Path) -> None:
    result = manage("report", "--period", "2026-S3", "--out", str(tmp_path / "x"),
                    database_url=demo_url)
    assert result.returncode == 2
    assert "periode tidak dikenali: '2026-S3'" in result.stderr
    assert not (tmp_path / "x").exists()
