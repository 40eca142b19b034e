"""Screenshots of every page on the demo data, for docs/screenshots/ (needs Debian's chromium).

    .venv/bin/python -m scripts.screenshots [--out docs/screenshots] [--only surel]

Builds a demo database (fixed seed and end date), serves it with `streamlit run`, signs in
as each role and photographs each page; and the Kadis's morning summary as an SMTP server
received it (`--only surel`: that alone).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from datetime import date, datetime
from pathlib import Path

from playwright.sync_api import Page, ViewportSize, sync_playwright
from sqlalchemy import select

from db.engine import REPO_ROOT, make_engine, read_session, write_session
from db.models import Case
from services.accounts import SYSTEM
from services.bootstrap import initialise
from services.demo import DEMO_PASSWORD, load_demo
from services.formatting import WIB
from services.mail import mail_settings
from services.notify import plan_now, send_digest
from services.periods import semester
from services.reports.digest import report_files
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, log_in_here, start_server, wait_for_app_run
from tests.mailserver import smtp_server

UNTIL = datetime(2026, 11, 20, 15, 0, tzinfo=WIB)
# The next working morning, when the scheduled digest runs (docs/deploy.md).
DIGEST_AT = datetime(2026, 11, 23, 7, 0, tzinfo=WIB)
PERIOD = semester(date(2026, 1, 1))
SHOTS = [
    # (user, path, file, tab to open)
    ("kadis", "dasbor?periode=2026", "dasbor-kepatuhan", None),
    ("sekretaris", "hambatan?sop=pengumpulan-data-kinerja&periode=2026", "hambatan", None),
    ("sekretaris", "progres?sop=e-kinerja,penyusunan-lkj&periode=2026-Q4", "progres-sop", None),
    ("sekretaris", "antrean", "antrean-pelaksana", None),
    ("sekretaris", "antrean", "antrean-per-orang", "Per orang"),
    ("kadis", "kasus?lihat=kunjungan&periode=2026&status=bertarget&sop=e-kinerja",
     "kasus-rincian-kunjungan", None),
    ("kadis", "kasus?lihat=tugas&status=terlambat", "kasus-rincian-tugas", None),
    ("fungsional", "tugas", "tugas-saya", None),
    ("fungsional", "catat?kasus={running}", "catat-langkah", None),
    ("fungsional", "kasus?kasus=3", "kasus-detail", None),
    ("fungsional", "kasus", "kasus-daftar", None),
    ("fungsional", "mulai", "mulai-kasus", None),
    ("kadis", "katalog?sop=penyusunan-lkj", "katalog-tabel", None),
    ("kadis", "katalog?sop=penyusunan-lkj", "katalog-diagram", "Diagram alir"),
    ("sekretaris", "laporan?periode=2026-S1&sop=e-kinerja", "laporan-tabel7", None),
    ("sekretaris", "laporan?periode=2026-S1&sop=e-kinerja", "laporan-evaluasi", "Evaluasi SOP"),
    ("admin.demo", "pengguna", "admin-pengguna", None),
    ("admin.demo", "kalender", "admin-kalender", None),
]


# A laptop of the agency, and a phone (each page is photographed at both widths).
DESKTOP = ViewportSize(width=1366, height=768)
PHONE = ViewportSize(width=390, height=844)
PHONE_SHOTS = {"dasbor-kepatuhan", "hambatan", "antrean-pelaksana", "kasus-rincian-tugas",
               "kasus-detail", "catat-langkah", "tugas-saya", "progres-sop", "login"}


def shoot(page: Page, path: Path, *, full: bool = True) -> None:
    """Streamlit scrolls inside its own container, so a "full page" screenshot is only the
    window: make the window as tall as the content first. Pages in PHONE_SHOTS are also
    photographed at a phone's width ("-ponsel")."""
    sizes = [("", DESKTOP)] + ([("-ponsel", PHONE)] if path.stem in PHONE_SHOTS else [])
    for suffix, size in sizes:
        page.set_viewport_size(size)
        page.wait_for_timeout(1500)  # charts animate in, and redraw at a new width
        height = page.evaluate(
            "() => document.querySelector('[data-testid=stMainBlockContainer]').scrollHeight")
        if full:
            page.set_viewport_size(ViewportSize(
                width=size["width"], height=min(max(int(height) + 120, size["height"]), 6000)))
            page.wait_for_timeout(800)
        target = path.with_name(f"{path.stem}{suffix}.png")
        page.screenshot(path=str(target))
        print(f"  {target}")
    page.set_viewport_size(DESKTOP)


def report_pages(url: str, out: Path, work: Path) -> None:
    """The first page of each PDF form of Semester I 2026, as the Laporan page would give it."""
    engine = make_engine(url)
    with read_session(engine) as session:
        files = dict(report_files(session, period=PERIOD, now=UNTIL))
    engine.dispose()
    for name, shot in (("tabel7-monitoring-2026-S1.pdf", "pdf-tabel7-monitoring"),
                       ("evaluasi-sop-2026-S1.pdf", "pdf-evaluasi-sop")):
        source = work / name
        source.write_bytes(files[name])
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
                        str(source), str(out / shot)], check=True)
        print(f"  {out / shot}.png")


def email_summary(url: str, out: Path, work: Path) -> None:
    """The HTML part of the Kadis's summary the morning after the demo's end, sent through a
    real SMTP server in this process, as Chromium renders it."""
    engine = make_engine(url)
    with smtp_server() as server:
        settings = mail_settings({"PANTAU_SMTP_URL": server.url(),
                                  "PANTAU_MAIL_FROM": "Pantau SOP <pantau@example.org>",
                                  "PANTAU_BASE_URL": "https://pantau.example.org"})
        plan = plan_now(engine, as_of=DIGEST_AT, base_url=settings.base_url)
        send_digest(engine, settings=settings, plan=plan, now=DIGEST_AT)
    engine.dispose()
    (summary,) = [m for m in server.received
                  if m.rcpt_tos == ("kadis@example.org",) and "Ringkasan" in m.subject]
    html = work / "surel-ringkasan.html"
    html.write_text(summary.part("html"), encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=ViewportSize(width=760, height=600))
        page.goto(html.as_uri())
        page.screenshot(path=str(out / "email-ringkasan.png"), full_page=True)
        browser.close()
    print(f"  {out / 'email-ringkasan.png'} ({summary.subject})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshots")
    parser.add_argument("--only", choices=["surel"], default=None,
                        help="only the received morning summary")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite:///{work}/demo.db"
        engine = make_engine(url)
        initialise(engine=engine)
        with write_session(engine) as session:
            load_demo(session, actor=SYSTEM, seed=2026, years=2, scale=2, until=UNTIL, now=UNTIL)
        with read_session(engine) as session:
            running = session.scalar(select(Case.id).where(Case.status == "active")
                                     .order_by(Case.id.desc()).limit(1))
        engine.dispose()
        if args.only == "surel":
            email_summary(url, args.out, Path(work))
            return
        report_pages(url, args.out, Path(work))
        server = start_server(url, Path(work) / "streamlit.log",
                              {})
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                context = browser.new_context(viewport=DESKTOP)
                page = context.new_page()
                page.set_default_timeout(60_000)
                page.goto(server.url)
                wait_for_app_run(page)
                shoot(page, args.out / "login.png", full=False)
                current = None
                for user, path, name, tab in SHOTS:
                    if user != current:
                        context.clear_cookies()
                        page.goto(f"{server.url}/akun")
                        wait_for_app_run(page)
                        log_in_here(page, user, DEMO_PASSWORD)
                        page.wait_for_timeout(1500)  # the login cookie is written by a component
                        current = user
                    page.goto(f"{server.url}/{path.format(running=running)}")
                    wait_for_app_run(page)
                    if tab:
                        page.get_by_role("tab", name=tab).click()
                        wait_for_app_run(page)
                    shoot(page, args.out / f"{name}.png")
                browser.close()
        finally:
            server.stop()
        email_summary(url, args.out, Path(work))


if __name__ == "__main__":
    main()
