"""Laporan Monitoring & Evaluasi on the demo data: the pre-filled Tabel 7, editing and saving
it, the evaluation form, the files of the period, and who may do what."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select

from db.engine import make_engine, read_session
from db.models import SopReview
from services.catalog.store import current_catalog
from services.metrics import period_metrics
from services.periods import read_period
from services.reports.forms import monitoring_form
from tests.organisation import wib
from tests.pages.conftest import run_ok, shown
from ui.text import markdown_escape

EDITOR = "tabel7-e-kinerja-2026-S1-editor"


def saved_reviews(url: str) -> list[tuple[str, str, dict]]:
    engine = make_engine(url)
    with read_session(engine) as session:
        rows = session.execute(select(SopReview.kind, SopReview.period, SopReview.content)
                               .order_by(SopReview.id)).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def draft(url: str, code: str, period_text: str):
    engine = make_engine(url)
    period = read_period(period_text)
    with read_session(engine) as session:
        entry = next(e for e in current_catalog(session) if e.sop.code == code)
        metrics = period_metrics(session, period=period, now=wib(2026, 11, 24, 9))
        form = monitoring_form(session, entry=entry, period=period, metrics=metrics)
    engine.dispose()
    return form


def open_tab(app, label: str) -> None:
    app.session_state["laporan-tab"] = label
    run_ok(app)


def press(app, label: str) -> None:
    next(b for b in app.button if b.label == label).click()
    run_ok(app)


def test_sekretaris_reviews_edits_and_saves_tabel7(demo_signed_in, demo_database) -> None:
    app = demo_signed_in("sekretaris", "laporan", periode="2026-S1", sop="e-kinerja")
    assert [t.value for t in app.title] == ["Laporan Monitoring & Evaluasi SOP"]
    expected = draft(demo_database, "e-kinerja", "2026-S1")
    table = app.data_editor[0].value
    assert list(table["Penilaian"]) == [row.assessment for row in expected.rows]
    assert list(table["Catatan Hasil Penilaian"]) == [row.note for row in expected.rows]
    assert "Belum disimpan" in app.main.caption[0].value
    app.session_state[EDITOR] = {"edited_rows": {0: {
        "Penilaian": "Tidak berjalan dengan baik",
        "Catatan Hasil Penilaian": "Penilaian langsung oleh Sekretaris."}},
        "added_rows": [], "deleted_rows": []}
    press(app, "Simpan Tabel 7")
    assert "Tabel 7 e-Kinerja" in shown(app.success[0])
    name = markdown_escape("Rina Marlina, S.E., M.M.")  # a name is shown as typed
    assert f"Tersimpan oleh **{name}**" in app.main.caption[0].value
    [(kind, period, content)] = saved_reviews(demo_database)
    assert (kind, period) == ("monitoring", "2026-S1")
    assert content["summary"] == {"assessment": expected.summary.assessment,
                                  "note": expected.summary.note,
                                  "action": expected.summary.action}
    first = content["rows"][0]
    assert (first["assessment"], first["note"]) == ("Tidak berjalan dengan baik",
                                                    "Penilaian langsung oleh Sekretaris.")
    assert [r["note"] for r in content["rows"][1:]] == [r.note for r in expected.rows[1:]]


def test_an_unassessed_step_is_refused_with_the_edits_kept(demo_signed_in,
                                                          demo_database) -> None:
    # January 2025 is before the demo's year: nothing ended, nothing is pre-filled.
    app = demo_signed_in("kadis", "laporan", periode="2025-01", sop="e-kinerja")
    assert set(app.data_editor[0].value["Penilaian"].isna()) == {True}
    sop_row = next(s for s in app.selectbox if s.label == "Penilaian Terhadap Penerapan")
    assert sop_row.value is None  # nothing to judge: the evaluator decides
    press(app, "Simpan Tabel 7")
    assert 'SOP e-Kinerja: pilih penilaian "Berjalan dengan baik"' in shown(app.error[0])
    sop_row = next(s for s in app.selectbox if s.label == "Penilaian Terhadap Penerapan")
    sop_row.select("Berjalan dengan baik")
    press(app, "Simpan Tabel 7")
    assert 'Langkah 1: pilih penilaian "Berjalan dengan baik"' in shown(app.error[0])
    assert sop_row.value == "Berjalan dengan baik"  # the edits are kept
    assert saved_reviews(demo_database) == []


def test_the_evaluation_needs_all_seven_answers(demo_signed_in, demo_database) -> None:
    app = demo_signed_in("kadis", "laporan", periode="2026-S1", sop="e-kinerja")
    assert not app.radio  # the closed tab is not built
    open_tab(app, "Evaluasi SOP")
    assert not app.data_editor
    radios = [radio for radio in app.radio if radio.label[:2] in {f"{n}." for n in range(1, 8)}]
    assert len(radios) == 7 and all(radio.value is None for radio in radios)
    for radio in radios[:6]:
        radio.set_value("Ya")
    press(app, "Simpan evaluasi")
    assert "Kriteria 7 (Sinergi satu dengan lainnya)" in shown(app.error[0])
    assert saved_reviews(demo_database) == []
    radios = [radio for radio in app.radio if radio.label.startswith("7.")]
    radios[0].set_value("Tidak")
    app.text_area[0].input("Koordinasi antarbidang perlu diperbaiki.")
    press(app, "Simpan evaluasi")
    [(kind, period, content)] = saved_reviews(demo_database)
    assert (kind, period) == ("evaluasi", "2026-S1")
    assert content["answers"]["sinergi"] == "Tidak" and content["answers"]["kinerja"] == "Ya"
    assert content["conclusion"] == "Koordinasi antarbidang perlu diperbaiki."
    assert [r.value for r in app.radio if r.label.startswith("7.")] == ["Tidak"]


def test_all_files_of_the_period_are_prepared_for_download(demo_signed_in) -> None:
    app = demo_signed_in("sekretaris", "laporan", periode="2026-S1", sop="e-kinerja")
    open_tab(app, "Semua berkas periode")
    press(app, "Siapkan semua berkas")
    _, files = app.session_state["laporan-berkas-2026-S1"]
    assert any(c.value.startswith("Disiapkan ") for c in app.main.caption)
    assert [name for name, _ in files][:2] == ["tabel7-monitoring-2026-S1.pdf",
                                              "tabel7-monitoring-2026-S1.xlsx"]
    assert len(files) == 7
    assert len(PdfReader(io.BytesIO(files[0][1])).pages) >= 5
    labels = [b.proto.label for b in app.get("download_button")]
    assert "Unduh semua (ZIP)" in labels
    assert any(label.startswith("log-kejadian-2026-S1.xes") for label in labels)


def test_fungsional_cannot_open_it_and_admin_sets_thresholds(demo_signed_in,
                                                             demo_database) -> None:
    app = demo_signed_in("fungsional", "laporan")
    assert "Laporan Monitoring & Evaluasi SOP" not in [t.value for t in app.title]
    assert not any("Laporan" in link.proto.label for link in app.sidebar.get("page_link"))

    admin = demo_signed_in("admin.demo", "laporan", periode="2026-S1", sop="e-kinerja")
    before = draft(demo_database, "e-kinerja", "2026-S1")
    inputs = {field.label: field for field in admin.number_input}
    inputs["Minimal kunjungan dalam Mutu Baku (%)"].set_value(0)
    inputs["Maksimal pengembalian dari keputusan (%)"].set_value(100)
    press(admin, "Simpan ambang")
    after = draft(demo_database, "e-kinerja", "2026-S1")
    assert after.thresholds.min_compliance == 0 and after.thresholds.max_return_rate == 1
    assert {row.assessment for row in after.rows} <= {"Berjalan dengan baik", None}
    assert {row.assessment for row in before.rows} != {row.assessment for row in after.rows}
    assert list(admin.data_editor[0].value["Penilaian"]) == [r.assessment for r in after.rows]
