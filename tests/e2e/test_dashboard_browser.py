"""A step recorded in one browser session shows on the Kadis's dashboard in another."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from db.engine import make_engine, write_session
from services.accounts import load_actor
from services.clock import utcnow
from services.workflow import engine as wf
from tests.e2e.conftest import (
    Server,
    click,
    log_in_here,
    screenshot,
    wait_for_app_run,
)
from tests.organisation import PASSWORD

pytestmark = pytest.mark.browser


def test_a_step_recorded_elsewhere_shows_after_a_rerun(server: Server, browser: Browser) -> None:
    engine = make_engine(server.database_url)
    with write_session(engine) as session:
        case = wf.start_case(session, actor=load_actor(session, username="fungsional"),
                             sop_code="e-kinerja", title="e-Kinerja November 2026",
                             at=utcnow()).case_id
    engine.dispose()

    kadis = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    kadis.set_default_timeout(60_000)
    kadis.goto(f"{server.url}/dasbor?periode=2026")
    wait_for_app_run(kadis)
    log_in_here(kadis, "kadis", PASSWORD)
    expect(kadis.get_by_role("heading", name="Dasbor Kepatuhan")).to_be_visible()
    row = kadis.get_by_text(re.compile(r"Kepatuhan .* \(0 dari 0\)")).first
    expect(row).to_be_visible()

    fungsional = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    fungsional.set_default_timeout(60_000)
    fungsional.goto(f"{server.url}/catat?kasus={case}")
    wait_for_app_run(fungsional)
    log_in_here(fungsional, "fungsional", PASSWORD)
    expect(fungsional.get_by_text(re.compile("Langkah 1: Menerima surat dari Sekda"))).to_be_visible()
    wait_for_app_run(fungsional)  # the rerun that follows the login cookie
    click(fungsional, "Catat")  # on behalf of the Kadis (no one chosen: unknown person)
    # The case moved on. (Not the flash: a rerun right after, e.g. from the login cookie
    # component, may replace it before a screenshot-speed check sees it.)
    expect(fungsional.get_by_text("Langkah 2 dari 7")).to_be_visible()

    kadis.reload()
    wait_for_app_run(kadis)
    expect(kadis.get_by_text(re.compile(r"Kepatuhan .* \(\d dari 1\)")).first).to_be_visible()
    screenshot(kadis, "dasbor-setelah-langkah")
    kadis.context.close()
    fungsional.context.close()
