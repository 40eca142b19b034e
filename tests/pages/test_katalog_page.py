"""Katalog SOP page (AppTest)."""

from sqlalchemy import text

from db.engine import make_engine, write_session
from services.accounts import SYSTEM, create_user
from tests.organisation import NOW, PASSWORD
from tests.pages.conftest import fresh_app, log_in, run_ok, shown


def test_shows_the_chosen_sop_as_table_flowchart_and_findings(signed_in) -> None:
    app = signed_in("kadis", "katalog", sop="penyusunan-lkj")
    assert [t.value for t in app.title] == ["Katalog SOP"]
    assert app.selectbox[0].value == "penyusunan-lkj"
    assert len(app.selectbox[0].options) == 5
    assert [t.label for t in app.tabs] == ["Tabel SOP", "Diagram alir", "Temuan pemeriksaan (3)"]
    identity = app.table[0].value
    assert identity.loc["Nama SOP", "Isi"] == "Penyusunan Laporan Kinerja"
    steps = app.dataframe[0].value
    assert list(steps["Pelaksana"]) == ["Sekretaris", "Fungsional", "Fungsional", "Fungsional",
                                        "Sekretaris", "Kadis", "Sekretaris", "Fungsional"]
    assert steps.loc[2, "Target (waktu kerja)"] == "3 hari"
    (chart,) = app.get("graphviz_chart")
    assert chart.proto.spec.startswith("digraph sop {") and 'label="Kadis"' in chart.proto.spec
    findings = app.main.markdown[-1].value
    assert "'Fungsional pengelola Monev' dibaca sebagai lajur Fungsional" in findings.replace(
        "\\", "")


def test_choosing_another_sop_updates_page_and_link(signed_in) -> None:
    app = signed_in("fungsional", "katalog", sop="penyusunan-lkj")
    app.selectbox[0].select("monev-kinerja-periodik").run()
    assert app.query_params["sop"] == "monev-kinerja-periodik"
    steps = app.dataframe[0].value
    assert list(steps["No."]) == ["1", "2", "3", "4", "6", "8", "9", "9a", "10", "12"]
    assert "10 langkah" in app.caption[-1].value or any(
        "10 langkah" in c.value for c in app.main.caption)


def test_unknown_sop_in_the_link_falls_back_to_the_first(signed_in) -> None:
    app = signed_in("kadis", "katalog", sop="tidak-ada")
    assert app.selectbox[0].value == "e-kinerja"


def test_identity_text_is_shown_literally(signed_in) -> None:
    app = signed_in("kadis", "katalog", sop="penyusunan-lkj")
    dasar_hukum = app.table[0].value.loc["Dasar Hukum", "Isi"]
    assert dasar_hukum.startswith("1\\. Peraturan Presiden Nomor 29 Tahun 2014")
    assert "  \n2\\. " in dasar_hukum


def test_empty_catalog_says_what_to_do(sqlite_url, monkeypatch) -> None:
    monkeypatch.setenv("PANTAU_DATABASE_URL", sqlite_url)
    engine = make_engine(sqlite_url)
    with write_session(engine) as session:
        create_user(session, actor=SYSTEM, username="admin", full_name="Admin", password=PASSWORD,
                    roles=[], is_admin=True, now=NOW)
    engine.dispose()
    app = log_in(fresh_app(), "admin")
    app.switch_page("pages/katalog.py")
    run_ok(app)
    assert "python manage.py init" in shown(app.info[0])
    assert not app.selectbox


def test_unmigrated_database_is_reported_not_crashed(unmigrated_database) -> None:
    app = run_ok(fresh_app())
    assert "python manage.py init" in shown(app.error[0])
    engine = make_engine(unmigrated_database)
    with engine.connect() as connection:
        tables = connection.execute(text("SELECT count(*) FROM sqlite_master WHERE type='table'"))
        assert tables.scalar() == 0  # the app never migrates behind the admin's back
    engine.dispose()
