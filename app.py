"""Pantau SOP: the entry point. Every request runs this script: it checks the database, runs
the first-run setup or the login, draws the user's menu, and runs the page if the user's
roles allow it (pages live in pages/; see ui/routing.py for why they never run alone)."""

from __future__ import annotations

import streamlit as st

from db.engine import read_session
from services.accounts import has_users
from ui.auth import request_sign_out, sign_in
from ui.data import my_overdue_count, warm_history
from ui.format import actor_roles_label
from ui.navigation import BY_KEY, HOME, landing_key, menu, st_pages
from ui.routing import leave_legacy_mode, routed
from ui.runtime import (
    STYLE_SHEET,
    database_faults,
    engine,
    freeze_startup_objects,
    stop_unless_database_ready,
)
from ui.session import set_actor
from ui.text import markdown_escape

leave_legacy_mode()
st.set_page_config(page_title="Pantau SOP", page_icon=":material/fact_check:", layout="wide")
st.html(STYLE_SHEET)  # a static style sheet: only style rules, nothing typed by a user


def run() -> None:
    freeze_startup_objects()
    stop_unless_database_ready()
    warm_history()
    with read_session(engine()) as session:
        first_run = not has_users(session)

    if first_run:
        setup = st.navigation([st.Page("pages/setup.py", title="Penyiapan Awal", url_path="setup",
                                       default=True)], position="hidden")
        with routed():
            setup.run()
        st.stop()

    pages = st_pages()
    # Every page is registered before signing in, so a reload of any URL resolves to its page
    # (the login cookie arrives with the request; see docs/design.md, "Roles and pages").
    page = st.navigation(list(pages.values()), position="hidden")
    actor = sign_in(engine())
    if actor is None:
        st.stop()
    set_actor(actor)

    with st.sidebar:
        st.markdown("### Pantau SOP")
        st.caption(markdown_escape(f"{actor.full_name} · {actor_roles_label(actor)}"))
    menu(actor, pages, page.url_path, overdue=my_overdue_count(actor))
    with st.sidebar:
        st.divider()
        if st.button("Keluar", key="keluar", icon=":material/logout:"):
            request_sign_out(engine())

    if page.url_path in ("", HOME):
        st.switch_page(pages[landing_key(actor)])
    spec = BY_KEY.get(page.url_path)
    if spec is None or not spec.allows(actor):
        st.error("Halaman ini tidak tersedia untuk peran Anda.")
        st.page_link(pages[landing_key(actor)], label="Ke halaman utama Anda", icon=":material/home:")
        st.stop()
    with routed():
        page.run()


# Any database fault, from the readiness check to the page (refused connections, a cut
# connection, a locked SQLite file): a message that nothing was saved, not an error page.
with database_faults():
    run()
