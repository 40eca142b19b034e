"""The monitoring and evaluation forms and the report files, on the hand-made log of
test_metrics (February 2025; its figures are worked out there)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import openpyxl
import pytest
import rustxes
from pypdf import PdfReader
from sqlalchemy import func, select

from db.engine import read_session, write_session
from db.models import Event, SopReview
from services.accounts import SYSTEM, delete_user
from services.catalog.store import current_catalog
from services.errors import InvalidInput, PermissionDenied
from services.metrics import period_metrics
from services.periods import read_period
from services.reports.digest import period_forms, report_files
from services.reports.forms import (
    CRITERIA,
    GOOD,
    NO,
    NOT_GOOD,
    YES,
    evaluation_form,
    monitoring_form,
    save_evaluation,
    save_monitoring,
)
from services.reports.pdf import evaluation_pdf, monitoring_pdf
from services.settings import set_monitoring_thresholds
from services.workflow.replay import replay
from tests.db.test_metrics import AS_OF, _log
from tests.organisation import NOW, Organisation

FEBRUARY = read_period("2025-02")
JANUARY = read_period("2025-01")


@pytest.fixture
def hand_log(org: Organisation) -> Organisation:
    with write_session(org.engine) as session:
        replay(session, events=_log(), actor=SYSTEM, now=NOW)
    return org


def ekinerja_form(org: Organisation, period=FEBRUARY):
    with read_session(org.engine) as session:
        entry = next(e for e in current_catalog(session) if e.sop.code == "e-kinerja")
        metrics = period_metrics(session, period=period, now=AS_OF)
        return monitoring_form(session, entry=entry, period=period, metrics=metrics)


def rows_of(form) -> list[dict]:
    return [{"seq": row.seq, "assessment": row.assessment or GOOD, "note": row.note,
             "action": row.action} for row in form.rows]


def summary_of(form) -> dict:
    return {"assessment": form.summary.assessment or GOOD, "note": form.summary.note,
            "action": form.summary.action}


def test_the_sop_row_of_tabel7_follows_the_sop_figures(hand_log: Organisation) -> None:
    """The regulation's Tabel 7 has a row per SOP: e-Kinerja in February (as of Thu 6 Feb):
    7 of 11 visits within the Mutu Baku is under 80%, and 1 return of 2 decisions over 20%."""
    form = ekinerja_form(hand_log)
    summary = form.summary
    assert summary.assessment == summary.measured.assessment == NOT_GOOD
    assert summary.note == (
        "7 dari 11 kunjungan langkah dalam Mutu Baku (63,6%); 1 pengembalian dari 2 keputusan; "
        "1 kasus selesai; 2 kasus masih berjalan saat ini; langkah 1, 2, 3, 5 dan 7 belum "
        "berjalan dengan baik (lihat lampiran).")
    assert summary.action.startswith("Telusuri keterlambatan di langkah 1, 2, 3, 5 dan 7")
    assert "Perjelas persyaratan" in summary.action
    january = ekinerja_form(hand_log, JANUARY).summary
    assert january.assessment is None
    assert january.note == "Belum ada langkah yang selesai pada periode ini."


def test_the_draft_follows_the_measured_figures(hand_log: Organisation) -> None:
    form = ekinerja_form(hand_log)
    rows = {row.seq: row for row in form.rows}
    assert form.saved is None and len(rows) == 7
    # Step 1: A 10 (target 10) and B 5 within, D 15 over: 2 of 3 is under 80%.
    assert (rows[1].assessment, rows[1].note) == (NOT_GOOD, "2 dari 3 kunjungan dalam Mutu Baku.")
    # Step 2: A's 30 over 15; B and D still wait there.
    assert rows[2].note == "0 dari 1 kunjungan dalam Mutu Baku; 2 masih berjalan."
    assert rows[4].assessment == GOOD and rows[4].action == ""
    # Step 5 (decision): both visits within, but 1 return of 2 decisions is over 20%.
    assert rows[5].assessment == NOT_GOOD
    assert rows[5].note == ("2 dari 2 kunjungan dalam Mutu Baku; 1 pengembalian dari 2 "
                            "keputusan.")
    assert "Perjelas persyaratan" in rows[5].action
    assert rows[6].assessment == GOOD


def test_the_admin_thresholds_change_the_draft(hand_log: Organisation) -> None:
    with write_session(hand_log.engine) as session:
        set_monitoring_thresholds(session, actor=hand_log.actor("admin"), min_compliance=0.6,
                                  max_return_rate=0.5, now=NOW)
    rows = {row.seq: row for row in ekinerja_form(hand_log).rows}
    assert rows[1].assessment == GOOD and rows[5].assessment == GOOD
    with write_session(hand_log.engine) as session, pytest.raises(PermissionDenied):
        set_monitoring_thresholds(session, actor=hand_log.actor("sekretaris"),
                                  min_compliance=0.5, max_return_rate=0.5, now=NOW)
    with write_session(hand_log.engine) as session, pytest.raises(InvalidInput):
        set_monitoring_thresholds(session, actor=hand_log.actor("admin"), min_compliance=1.5,
                                  max_return_rate=0.5, now=NOW)


def test_saved_forms_are_kept_per_period_and_the_latest_wins(hand_log: Organisation) -> None:
    draft = ekinerja_form(hand_log)
    edited = rows_of(draft)
    edited[0] = {**edited[0], "assessment": GOOD, "note": "Keterlambatan karena dinas luar.",
                 "action": "Tidak perlu tindakan."}
    with write_session(hand_log.engine) as session:
        save_monitoring(session, actor=hand_log.actor("sekretaris"), code="e-kinerja",
                        period=FEBRUARY, rows=edited, summary=summary_of(draft), now=NOW)
    form = ekinerja_form(hand_log)
    assert form.saved is not None and form.saved.full_name == "Sekretaris Dinas"
    assert (form.rows[0].assessment, form.rows[0].note) == (GOOD,
                                                            "Keterlambatan karena dinas luar.")
    assert form.rows[0].measured.assessment == NOT_GOOD  # the figures still say otherwise
    edited[0] = {**edited[0], "note": "Ditinjau ulang oleh Kepala Dinas."}
    with write_session(hand_log.engine) as session:
        save_monitoring(session, actor=hand_log.actor("kadis"), code="e-kinerja",
                        period=FEBRUARY, rows=edited, summary=summary_of(draft), now=NOW)
    form = ekinerja_form(hand_log)
    assert form.saved is not None and form.saved.full_name == "Drs. Kepala Dinas"
    assert form.rows[0].note == "Ditinjau ulang oleh Kepala Dinas."
    assert ekinerja_form(hand_log, JANUARY).saved is None  # another period: still a draft
    with read_session(hand_log.engine) as session:
        assert session.scalar(select(func.count()).select_from(SopReview)) == 2


def test_only_evaluators_save_and_bad_input_saves_nothing(hand_log: Organisation) -> None:
    rows = rows_of(ekinerja_form(hand_log))
    summary = summary_of(ekinerja_form(hand_log))
    for who in ("fungsional", "layanan"):
        with write_session(hand_log.engine) as session, pytest.raises(PermissionDenied):
            save_monitoring(session, actor=hand_log.actor(who), code="e-kinerja",
                            period=FEBRUARY, rows=rows, summary=summary, now=NOW)
    with write_session(hand_log.engine) as session, pytest.raises(PermissionDenied):
        save_monitoring(session, actor=SYSTEM, code="e-kinerja", period=FEBRUARY, rows=rows,
                        summary=summary, now=NOW)
    unassessed = [*rows[:2], {**rows[2], "assessment": None}, *rows[3:]]
    with write_session(hand_log.engine) as session, pytest.raises(InvalidInput,
                                                                   match="Langkah 3"):
        save_monitoring(session, actor=hand_log.actor("sekretaris"), code="e-kinerja",
                        period=FEBRUARY, rows=unassessed, summary=summary, now=NOW)
    with write_session(hand_log.engine) as session, pytest.raises(InvalidInput,
                                                                   match="SOP e-Kinerja: pilih"):
        save_monitoring(session, actor=hand_log.actor("sekretaris"), code="e-kinerja",
                        period=FEBRUARY, rows=rows, summary={**summary, "assessment": None},
                        now=NOW)
    too_long = [{**rows[0], "note": "x" * 2001}, *rows[1:]]
    with write_session(hand_log.engine) as session, pytest.raises(InvalidInput,
                                                                   match="terlalu panjang"):
        save_monitoring(session, actor=hand_log.actor("sekretaris"), code="e-kinerja",
                        period=FEBRUARY, rows=too_long, summary=summary, now=NOW)
    with read_session(hand_log.engine) as session:
        assert session.scalar(select(func.count()).select_from(SopReview)) == 0


def _evaluation(org: Organisation, period=FEBRUARY):
    with read_session(org.engine) as session:
        entry = next(e for e in current_catalog(session) if e.sop.code == "e-kinerja")
        return evaluation_form(session, entry=entry, period=period)


def test_evaluation_needs_every_criterion_and_keeps_the_latest(org: Organisation) -> None:
    answers = {key: YES for key, _ in CRITERIA}
    answers["masalah"] = NO
    notes = {"masalah": "Pengembalian di langkah 5 masih sering."}
    with write_session(org.engine) as session, pytest.raises(InvalidInput, match="Kriteria 3"):
        save_evaluation(session, actor=org.actor("kadis"), code="e-kinerja", period=FEBRUARY,
                        answers={**answers, "dilaksanakan": None}, notes=notes, conclusion="",
                        now=NOW)
    with write_session(org.engine) as session, pytest.raises(PermissionDenied):
        save_evaluation(session, actor=org.actor("fungsional"), code="e-kinerja",
                        period=FEBRUARY, answers=answers, notes=notes, conclusion="", now=NOW)
    assert _evaluation(org).saved is None
    assert set(_evaluation(org).answers.values()) == {None}
    with write_session(org.engine) as session:
        save_evaluation(session, actor=org.actor("kadis"), code="e-kinerja", period=FEBRUARY,
                        answers=answers, notes=notes, conclusion="Perlu revisi langkah 5.",
                        now=NOW)
    form = _evaluation(org)
    assert form.saved is not None and form.saved.username == "kadis"
    assert form.answers["masalah"] == NO and form.answers["kinerja"] == YES
    assert form.notes["masalah"] == "Pengembalian di langkah 5 masih sering."
    assert form.notes["kinerja"] == "" and form.conclusion == "Perlu revisi langkah 5."
    assert _evaluation(org, JANUARY).saved is None


def test_a_user_who_saved_a_form_cannot_be_deleted(org: Organisation) -> None:
    with write_session(org.engine) as session:
        save_evaluation(session, actor=org.actor("sekretaris"), code="e-kinerja",
                        period=FEBRUARY, answers={key: YES for key, _ in CRITERIA}, notes={},
                        conclusion="", now=NOW)
    with write_session(org.engine) as session, pytest.raises(InvalidInput, match="formulir"):
        delete_user(session, actor=org.actor("admin"), username="sekretaris")
    with write_session(org.engine) as session:
        delete_user(session, actor=org.actor("admin"), username="arsiparis")  # never recorded


def _pdf_text(content: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(content))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def _renders(content: bytes, directory: Path) -> list[Path]:
    source = directory / "form.pdf"
    source.write_bytes(content)
    result = subprocess.run(["pdftoppm", "-r", "40", "-png", str(source), str(directory / "p")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return sorted(directory.glob("p-*.png"))


def test_the_pdf_forms_read_back_and_render(hand_log: Organisation, tmp_path: Path) -> None:
    with read_session(hand_log.engine) as session:
        metrics = period_metrics(session, period=FEBRUARY, now=AS_OF)
        forms = period_forms(session, period=FEBRUARY, metrics=metrics)
    day = AS_OF.date()
    content = monitoring_pdf(forms.monitoring, city="Pontianak", day=day)
    pages, text = _pdf_text(content)
    assert pages >= len(forms.monitoring) + 1 == 6  # the table, then an annex per SOP
    assert text.count("MONITORING PELAKSANAAN SOP ADMINISTRASI PEMERINTAHAN") == 1
    assert text.count("LAMPIRAN TABEL 7 NOMOR") == 5
    reader = PdfReader(io.BytesIO(content))
    table = " ".join(" ".join(page.extract_text().split()) for page in reader.pages[:2])
    for number, form in enumerate(forms.monitoring, start=1):  # a row per SOP on the table
        assert f"{number} {form.sop.name} (Nomor SOP" in table
    signed = [page.extract_text() for page in reader.pages if "Mengetahui" in page.extract_text()]
    assert len(signed) == 1 and "Prosedur" in signed[0]  # never alone on a page
    for expected in ("DINAS PERPUSTAKAAN DAN KEARSIPAN", "Februari 2025", "Paraf Penilai",
                     "Penilaian Terhadap Penerapan", "2 dari 3 kunjungan dalam Mutu Baku",
                     "Tidak berjalan dengan baik", "Pontianak, 6 Februari 2025",
                     "Mengetahui", "Drs. Sugeng Hariadi", "Unit kerja"):
        assert expected in text, expected
    for typo in ("BARAT BARAT", "Sudeng", "Pegawai Utama Muda"):  # the seed's, not the catalog's
        assert typo not in text
    (tmp_path / "monitoring").mkdir()
    assert len(_renders(monitoring_pdf(forms.monitoring, city="Pontianak", day=day),
                        tmp_path / "monitoring")) == pages

    content = evaluation_pdf(forms.evaluation, city="Pontianak", day=day)
    pages, text = _pdf_text(content)
    assert pages >= 5 and text.count("EVALUASI PENERAPAN SOP ADMINISTRASI PEMERINTAHAN") == 5
    for page in PdfReader(io.BytesIO(content)).pages:
        assert "Mengetahui" not in page.extract_text() or "Penilaian Penerapan" in \
            page.extract_text()
    assert all(label in text for _, label in CRITERIA)
    (tmp_path / "evaluasi").mkdir()
    assert len(_renders(evaluation_pdf(forms.evaluation, city="Pontianak", day=day),
                        tmp_path / "evaluasi")) == pages


def test_a_signature_block_keeps_the_last_rows_of_its_table(hand_log: Organisation) -> None:
    """Notes long enough that the table alone fills the page: the last row moves with the
    signatures instead of the signatures standing alone on a new page."""
    from dataclasses import replace

    with read_session(hand_log.engine) as session:
        metrics = period_metrics(session, period=FEBRUARY, now=AS_OF)
        forms = period_forms(session, period=FEBRUARY, metrics=metrics).monitoring
    long = "Catatan panjang penilai tentang pelaksanaan langkah ini. " * 6
    padded = [replace(form, summary=replace(form.summary, note=long)) for form in forms]
    reader = PdfReader(io.BytesIO(monitoring_pdf(padded, city="Pontianak", day=AS_OF.date())))
    texts = [" ".join(page.extract_text().split()) for page in reader.pages]
    (signed,) = [index for index, text in enumerate(texts) if "Mengetahui" in text]
    assert "Perbaikan Data Kinerja (Nomor SOP" in texts[signed]  # the last SOP's row
    assert signed > 0 and "Penyusunan Laporan Kinerja" in " ".join(texts[:signed])


def _sheet_rows(sheet, top: int = 4) -> list[dict]:
    values = list(sheet.iter_rows(min_row=top, values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def test_the_management_workbook_holds_the_metrics(hand_log: Organisation) -> None:
    with read_session(hand_log.engine) as session:
        files = dict(report_files(session, period=FEBRUARY, now=AS_OF))
        metrics = period_metrics(session, period=FEBRUARY, now=AS_OF)
    book = openpyxl.load_workbook(io.BytesIO(files["laporan-manajemen-2025-02.xlsx"]))
    assert book.sheetnames == ["Ringkasan", "Per SOP", "Per Langkah", "Antrean", "Pengembalian"]
    for sheet in book.worksheets:
        assert str(sheet["A2"].value).startswith("Periode: Februari 2025")
    ekinerja = next(sop for sop in metrics.sops if sop.code == "e-kinerja")
    per_sop = {row["Kode"]: row for row in _sheet_rows(book["Per SOP"])}
    assert per_sop["e-kinerja"]["Kepatuhan"] == pytest.approx(ekinerja.totals.compliance_rate)
    assert per_sop["e-kinerja"]["Kepatuhan"] == pytest.approx(7 / 11, abs=1e-4)
    assert (per_sop["e-kinerja"]["Pengembalian"], per_sop["e-kinerja"]["Kasus"]) == (1, 4)
    steps = [row for row in _sheet_rows(book["Per Langkah"]) if row["Kode SOP"] == "e-kinerja"]
    assert [(r["Kunjungan selesai"], r["Dalam Mutu Baku"], r["Masih berjalan"]) for r in steps] \
        == [(s.visits_ended, s.within_target, s.open_visits) for s in ekinerja.steps]
    assert steps[0]["Dalam Mutu Baku"] == 2 and steps[4]["Pengembalian"] == 1
    summary = {row["Ukuran"]: row["Nilai"] for row in _sheet_rows(book["Ringkasan"])}
    assert summary["Tugas tertunda pada waktu acuan"] == len(metrics.pending) == 2
    returns = _sheet_rows(book["Pengembalian"])
    assert [(r["Kasus"], r["Alasan"]) for r in returns] == [("A",
                                                             "Data Bidang Arsip belum lengkap")]
    pending = _sheet_rows(book["Antrean"])
    assert sorted(r["Kasus"] for r in pending) == ["B", "D"]

    tabel7 = openpyxl.load_workbook(io.BytesIO(files["tabel7-monitoring-2025-02.xlsx"]))
    assert tabel7.sheetnames[0] == "Tabel 7" and len(tabel7.sheetnames) == 6
    cells = [cell for row in tabel7.worksheets[0].iter_rows(values_only=True) for cell in row]
    assert "Penilaian Terhadap Penerapan" in cells


def test_the_xes_loads_in_an_independent_reader(hand_log: Organisation,
                                                tmp_path: Path) -> None:
    with read_session(hand_log.engine) as session:
        files = dict(report_files(session, period=FEBRUARY, now=AS_OF))
        recorded = session.scalar(select(func.count()).select_from(Event))
    assert recorded == len(_log())
    path = tmp_path / "log.xes"
    path.write_bytes(files["log-kejadian-2025-02.xes"])
    events, _attributes = rustxes.import_xes(str(path))
    # A: nine ended visits and one begun (step 3); B and D: step 1 each; C was cancelled
    # before any step ended, so its trace holds no event.
    assert events.height == 12
    per_case = events.group_by("case:concept:name").len().sort("case:concept:name")
    assert per_case.rows() == [("A", 10), ("B", 1), ("D", 1)]
    assert files["log-kejadian-2025-02.xes"].count(b"<trace>") == 4
    january = dict(report_files_for(hand_log, JANUARY))["log-kejadian-2025-01.xes"]
    assert january.count(b"<trace>") == 0


def report_files_for(org: Organisation, period):
    with read_session(org.engine) as session:
        return report_files(session, period=period, now=AS_OF)


def test_report_files_show_progress_to_the_end(hand_log: Organisation) -> None:
    seen: list[tuple[str, float]] = []
    with read_session(hand_log.engine) as session:
        files = report_files(session, period=FEBRUARY, now=AS_OF,
                             progress=lambda label, share: seen.append((label, share)))
    assert [name for name, _ in files] == [
        "tabel7-monitoring-2025-02.pdf", "tabel7-monitoring-2025-02.xlsx",
        "evaluasi-sop-2025-02.pdf", "evaluasi-sop-2025-02.xlsx",
        "laporan-manajemen-2025-02.xlsx", "log-kejadian-2025-02.csv",
        "log-kejadian-2025-02.xes"]
    shares = [share for _, share in seen]
    assert shares == sorted(shares) and shares[0] == 0.0 and seen[-1] == ("Selesai", 1.0)
    assert len(seen) == len(files) + 2
