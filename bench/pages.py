"""Page timings in headless Chromium: navigation until the page's title is shown and the
script has stopped running (Streamlit's own "notRunning" state), cold (first load on a
freshly started server, nothing in the process's memory) and warm (reloads, median), the
load right after a step is recorded (the kept history catches up with one case), the page
opened warm from the sidebar (no reload of the app in the browser), every page of the
Kadis's sidebar warm, the server's peak memory, and the CPU time the app process and
Chromium each spent per warm reload (both share the machine's cores)."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

from services.demo import DEMO_PASSWORD
from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    log_in_here,
    start_server,
    wait_for_app_run,
    wait_for_login_cookie,
)

PAGES = [("Dasbor Kepatuhan", "dasbor?periode=2026"), ("Hambatan", "hambatan?periode=2026")]
SIDEBAR = [("Dasbor Kepatuhan", "dasbor"), ("Hambatan", "hambatan"),
           ("Laporan Monitoring & Evaluasi SOP", "laporan"), ("Progres SOP", "progres"),
           ("Antrean per Pelaksana", "antrean"), ("Tugas Saya", "tugas"),
           ("Mulai Kasus", "mulai"), ("Kasus", "kasus"), ("Katalog SOP", "katalog"),
           ("Akun Saya", "akun")]


def _until_shown(page: Page, title: str) -> None:
    """Until the page's title shows and its script has stopped running."""
    page.get_by_role("heading", name=title, exact=True).wait_for(state="visible", timeout=120_000)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
        state="attached", timeout=120_000)


def _load(page: Page, url: str, title: str) -> float:
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    _until_shown(page, title)
    return time.perf_counter() - started


def _from_sidebar(page: Page, title: str) -> float:
    """Open the page by its sidebar link from Akun Saya, as a user moves between pages: the
    app stays loaded in the browser, only the page's script runs and draws."""
    page.get_by_role("link", name="Akun Saya", exact=True).click()
    _until_shown(page, "Akun Saya")
    started = time.perf_counter()
    page.get_by_role("link", name=title, exact=True).click()
    _until_shown(page, title)
    return time.perf_counter() - started


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state, parent, ...), or none
    when the process has ended meanwhile."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _cpu_seconds(pids: set[int]) -> float:
    """User and system CPU time of these processes so far (Linux /proc)."""
    total = sum(int(fields[11]) + int(fields[12]) for fields in map(_stat, pids) if fields)
    return total / os.sysconf("SC_CLK_TCK")


def _descendants(root: int, *, leaving_out: int) -> set[int]:
    """The processes under `root` (this bench: Playwright's driver, Chromium and its
    renderers), without the subtree of `leaving_out` (the app server)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        fields = _stat(entry.name) if entry.name.isdigit() else []
        if fields:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child != leaving_out:
                found.add(child)
                todo.append(child)
    return found


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(database_url: str, *, warm_runs: int = 5) -> list[dict[str, Any]]:
    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for title, path in PAGES:
            with tempfile.TemporaryDirectory() as work:
                server = start_server(database_url, Path(work) / "streamlit.log",
                                      {})
                try:
                    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
                    page.goto(f"{server.url}/akun")  # sign in on a light page
                    wait_for_app_run(page)
                    log_in_here(page, "kadis", DEMO_PASSWORD)
                    page.get_by_role("heading", name="Akun Saya").wait_for(state="visible")
                    wait_for_login_cookie(page)
                    cold = _load(page, f"{server.url}/{path}", title)
                    app_pid = server.process.pid
                    browser_pids = _descendants(os.getpid(), leaving_out=app_pid)
                    app_cpu, browser_cpu = _cpu_seconds({app_pid}), _cpu_seconds(browser_pids)
                    warm = [_load(page, f"{server.url}/{path}", title) for _ in range(warm_runs)]
                    app_cpu = (_cpu_seconds({app_pid}) - app_cpu) / warm_runs
                    browser_cpu = (_cpu_seconds(browser_pids) - browser_cpu) / warm_runs
                    from_sidebar = [_from_sidebar(page, title) for _ in range(warm_runs)]
                    after_write, after_write_cpu = [], 0.0
                    for _ in range(warm_runs):
                        _record_a_step(database_url)
                        before = _cpu_seconds({app_pid})
                        after_write.append(_load(page, f"{server.url}/{path}", title))
                        after_write_cpu += _cpu_seconds({app_pid}) - before
                    results.append({"page": title, "cold_s": cold, "warm": warm,
                                    "warm_s": statistics.median(warm),
                                    "after_write_s": statistics.median(after_write),
                                    "from_sidebar_s": statistics.median(from_sidebar),
                                    "app_cpu_s": app_cpu, "browser_cpu_s": browser_cpu,
                                    "after_write_app_cpu_s": after_write_cpu / warm_runs,
                                    "server_peak_mb": _peak_rss_mb(server.process.pid)})
                    page.context.close()
                finally:
                    server.stop()
        browser.close()
    return results


def measure_sidebar(database_url: str, *, warm_runs: int = 3) -> list[dict[str, Any]]:
    """Every page of the Kadis's sidebar, warm (after one load of each), on one server."""
    results = []
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as work:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        server = start_server(database_url, Path(work) / "streamlit.log", {})
        try:
            page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
            page.goto(f"{server.url}/akun")
            wait_for_app_run(page)
            log_in_here(page, "kadis", DEMO_PASSWORD)
            page.get_by_role("heading", name="Akun Saya").wait_for(state="visible")
            wait_for_login_cookie(page)
            for title, path in SIDEBAR:
                _load(page, f"{server.url}/{path}", title)
            for title, path in SIDEBAR:
                warm = [_load(page, f"{server.url}/{path}", title) for _ in range(warm_runs)]
                results.append({"page": title, "warm_s": statistics.median(warm)})
        finally:
            server.stop()
            browser.close()
    return results


BARE_APP = 'import streamlit as st\n\nst.title("Kosong")\n'


def measure_bare(*, warm_runs: int = 5) -> float:
    """The floor under every page: a one-line Streamlit app (a title, nothing else) on this
    machine, reloaded the same way (median of warm reloads). What a page costs above it is
    the page's own."""
    import subprocess
    import sys
    import urllib.request

    from tests.e2e.conftest import free_port

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as work:
        (Path(work) / "app.py").write_text(BARE_APP)
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--runner.postScriptGC", "true"],
            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            url = f"http://127.0.0.1:{port}/"
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}_stcore/health", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise RuntimeError("the one-line Streamlit app did not start") from None
                    time.sleep(0.3)
            page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
            for _ in range(2):
                _load(page, url, "Kosong")
            return statistics.median(_load(page, url, "Kosong") for _ in range(warm_runs))
        finally:
            browser.close()
            process.terminate()
            process.wait(timeout=30)


def _record_a_step(database_url: str) -> None:
    """One step of a running case, completed (or decided) now, through the services."""
    from sqlalchemy import select

    from db.engine import make_engine, write_session
    from db.models import Case
    from services.accounts import SYSTEM
    from services.cases import step_form
    from services.clock import utcnow
    from services.workflow import engine as wf
    from services.workflow.model import Performer, StepKind

    engine = make_engine(database_url)
    try:
        with write_session(engine) as session:
            for case_id in session.scalars(select(Case.id).where(Case.status == "active")
                                           .order_by(Case.id.desc()).limit(50)):
                form = step_form(session, actor=SYSTEM, case_id=case_id)
                if form is None or form.multi_unit:
                    continue
                kind: StepKind = "approve" if form.approve_seq is not None else "complete"
                wf.record_step(session, actor=SYSTEM, case_id=case_id, kind=kind, seq=form.seq,
                               at=utcnow(), performer=Performer.UNKNOWN, now=utcnow())
                return
        raise RuntimeError("no running case to record a step on")
    finally:
        engine.dispose()
