"""Dasbor Kepatuhan, Hambatan, Progres SOP and Antrean per Pelaksana on the demo data."""

from __future__ import annotations

from sqlalchemy import func, select

from db.engine import make_engine, read_session, write_session
from db.models import Case
from services.accounts import load_actor
from services.catalog.store import current_catalog
from services.metrics import compute_metrics
from services.periods import parse_period
from services.workflow import engine as wf
from tests.organisation import wib
from tests.pages.conftest import run_ok, shown
from ui.charts import percent
from ui.text import markdown_escape


def tiles(app) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.main.metric}


def service_metrics(url: str, period_text: str):
    engine = make_engine(url)
    with read_session(engine) as session:
        period = parse_period(period_text, today=wib(2026, 11, 24).date())
        metrics = compute_metrics(session, period=period.bounds())
        active = session.scalar(select(func.count()).select_from(Case)
                                .where(Case.status == "active"))
    engine.dispose()
    return metrics, active


def test_kadis_lands_on_the_dashboard_whose_tiles_match_the_metrics(demo_signed_in,
                                                                     demo_database) -> None:
    app = demo_signed_in("kadis")
    assert [t.value for t in app.title] == ["Dasbor Kepatuhan"]
    app.query_params["periode"] = "2026"
    run_ok(app)
    shown = tiles(app)
    metrics, active = service_metrics(demo_database, "2026")
    assert shown["Kepatuhan Mutu Baku"] == percent(metrics.totals.compliance_rate)
    assert shown["Kasus berjalan"] == str(active) == str(metrics.totals.cases_active)
    assert shown["Selesai dalam periode"] == str(metrics.totals.cases_completed)
    assert shown["Tugas terlambat"] == str(metrics.totals.overdue) == str(
        sum(p.sla_state == "overdue" for p in metrics.pending))
    assert len(app.get("plotly_chart")) == 2
    links = [link.proto for link in app.main.get("page_link")]
    assert any(link.label == "Hambatan" and "sop=" in link.query_string for link in links)


def test_filters_change_the_figures_and_stay_in_the_link(demo_signed_in) -> None:
    app = demo_signed_in("kadis", "dasbor", periode="2026")
    year = tiles(app)["Selesai dalam periode"]
    app.query_params["periode"] = "2026-02"
    run_ok(app)
    assert tiles(app)["Selesai dalam periode"] != year
    assert "Februari 2026" in app.main.caption[0].value
    app.multiselect[0].select("e-kinerja").run()
    assert app.query_params["sop"] == "e-kinerja"
    headings = [row.value for row in app.main.markdown if row.value.startswith("**")]
    assert "**e\\-Kinerja**" in headings and "**Penyusunan Laporan Kinerja**" not in headings


def test_a_recorded_step_shows_on_the_next_run(demo_signed_in, demo_database) -> None:
    app = demo_signed_in("kadis", "dasbor", periode="2026")
    before = int(tiles(app)["Kasus berjalan"])
    engine = make_engine(demo_database)
    with write_session(engine) as session:
        wf.start_case(session, actor=load_actor(session, username="fungsional"),
                      sop_code="e-kinerja", title="e-Kinerja tambahan",
                      at=wib(2026, 11, 24, 8))
    engine.dispose()
    run_ok(app)
    assert int(tiles(app)["Kasus berjalan"]) == before + 1


def test_hambatan_shows_every_view_of_the_chosen_sop(demo_signed_in, demo_database) -> None:
    metrics, _ = service_metrics(demo_database, "2026")
    returned = max(metrics.sops, key=lambda sop: sop.totals.returns)  # the SOP with most returns
    assert returned.totals.returns > 0
    app = demo_signed_in("sekretaris")
    assert [t.value for t in app.title] == ["Hambatan"]
    app.query_params.update({"sop": returned.code, "periode": "2026"})
    run_ok(app)
    assert app.main.caption[0].value.startswith(f"{markdown_escape(returned.name)} · Tahun 2026")
    titles = [row.value for row in app.main.markdown]
    assert "**Waktu kerja per langkah dibanding Mutu Baku**" in titles
    assert "**Bagian kunjungan yang melewati Mutu Baku, per bulan**" in titles
    assert "**Pareto pengembalian per langkah keputusan**" in titles
    assert len(app.get("plotly_chart")) == 4  # and the queue
    (process,) = app.get("graphviz_chart")
    assert "constraint=false" in process.proto.spec  # a return loop drawn back
    ranking = app.dataframe[0].value
    overrun = [float(hours.replace(".", "").replace(",", "."))  # written "1.234,5"
               for hours in ranking["Total keterlambatan (jam kerja)"]]
    assert overrun == sorted(overrun, reverse=True) and overrun[0] > 0


def test_progress_and_queue_pages(demo_signed_in) -> None:
    progress = demo_signed_in("kadis", "progres", periode="2026-Q4")
    assert [t.value for t in progress.title] == ["Progres SOP"]
    running = [frame.value for frame in progress.dataframe if "Kemajuan" in frame.value.columns]
    assert running and all(0 <= v <= 100 for frame in running for v in frame["Kemajuan"])
    queue = demo_signed_in("sekretaris", "antrean")
    assert queue.main.caption[0].value.startswith("Semua Pelaksana · keadaan per ")
    own = demo_signed_in("arsiparis", "antrean")
    table = own.dataframe[0].value if own.dataframe else None
    if table is not None:
        assert set(table["Pelaksana"]) <= {"Pengadministrasi"}
    else:
        assert shown(own.success[0]) == "Tidak ada langkah yang tertunda."


def test_the_completed_cases_are_drawn_only_when_their_expander_is_opened(
        demo_signed_in, demo_database, monkeypatch) -> None:
    """Closed (as the page opens), an SOP's completed cases are neither built nor drawn: a
    year of them was a third of the page's time, and building them half a second at ten
    million events. Opened, each SOP's table has a row for every case its caption counts."""
    from services import dashboards

    built, completed_cases = [], dashboards.completed_cases

    def counted(state, *, code, period):
        built.append(code)
        return completed_cases(state, code=code, period=period)

    monkeypatch.setattr(dashboards, "completed_cases", counted)
    progress = demo_signed_in("kadis", "progres", periode="2026")
    assert built == []
    closed = [expander.label for expander in progress.expander]
    assert closed and set(closed) == {"Selesai dalam Tahun 2026: waktu tempuh dibanding rencana"}
    assert not [frame for frame in progress.dataframe if "Waktu tempuh" in frame.value.columns]
    counts = [int(caption.value.split(" · ")[1].split(" ")[0].replace(".", ""))
              for caption in progress.main.caption if " selesai dalam Tahun 2026" in caption.value]
    engine = make_engine(demo_database)
    with read_session(engine) as session:
        codes = [entry.sop.code for entry in current_catalog(session)]
    engine.dispose()
    for code in codes:
        progress.session_state[f"selesai-{code}"] = True  # as a click on each one does
    run_ok(progress)
    opened = [len(frame.value) for frame in progress.dataframe
              if "Waktu tempuh" in frame.value.columns]
    assert opened == [count for count in counts if count] and len(opened) == len(closed)
    assert len(built) == len(opened)


def test_progress_counts_read_as_indonesian_numbers(demo_signed_in, monkeypatch) -> None:
    from services import dashboards

    monkeypatch.setattr(dashboards, "completed_count", lambda state, *, code, period: 1234)
    progress = demo_signed_in("kadis", "progres", periode="2026")
    captions = [c.value for c in progress.main.caption if "selesai dalam Tahun 2026" in c.value]
    assert captions and all(" · 1.234 selesai dalam Tahun 2026" in c for c in captions)


def test_empty_database_says_what_to_do(signed_in) -> None:
    app = signed_in("kadis")
    assert [t.value for t in app.title] == ["Dasbor Kepatuhan"]
    assert "Belum ada kasus yang tercatat" in shown(app.info[0])


def test_other_roles_cannot_open_the_heads_dashboards(demo_signed_in) -> None:
    for page in ("dasbor", "hambatan"):
        app = demo_signed_in("fungsional", page)
        assert shown(app.error[0]) == "Halaman ini tidak tersedia untuk peran Anda."


def test_the_first_run_of_the_process_loads_the_history_init_left_on_disk(
        demo_signed_in, demo_database, monkeypatch, capsys) -> None:
    """`manage.py init` leaves the history on disk; the process's first run (the sign-in
    page) loads it in the background, so the first dashboard reads neither the disk nor the
    events again."""
    import threading

    import manage
    import services.history_cache as module
    from services.history_cache import cache_directory
    from tests.pages.conftest import fresh_app

    assert manage.main(["init"]) == 0
    capsys.readouterr()
    ours = cache_directory(demo_database)
    loads: list[str] = []
    real_load, real_read = module._load, module.read_history  # noqa: SLF001

    def load(directory, session, **kwargs):  # type: ignore[no-untyped-def]
        if directory == ours:  # not a load left running by an earlier test
            loads.append("disk")
        return real_load(directory, session, **kwargs)

    def read(session, **kwargs):  # type: ignore[no-untyped-def]
        if session.get_bind().url.render_as_string(hide_password=False) == demo_database:
            loads.append("events")
        return real_read(session, **kwargs)

    monkeypatch.setattr(module, "_load", load)
    monkeypatch.setattr(module, "read_history", read)
    run_ok(fresh_app())  # the sign-in page of a process that has not loaded the history yet
    for thread in threading.enumerate():
        if thread.name == "pantau-history-warm":
            thread.join(timeout=120)
    assert loads == ["disk"]
    app = demo_signed_in("kadis", "dasbor", periode="2026")
    assert [t.value for t in app.title] == ["Dasbor Kepatuhan"]
    assert len(app.get("plotly_chart")) == 2
    assert loads == ["disk"]
