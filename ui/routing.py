"""Every page runs through app.py, never on its own.

Streamlit still has its legacy multipage mode: while no session has called st.navigation yet
(a fresh server, and every AppTest run), a URL such as /tugas executes pages/tugas.py
directly, skipping app.py and everything it checks (database, login, role), and app.py itself
runs wrapped in a legacy page (so its widgets get other ids than in a normal run: a login
submitted in the next run would be lost). So:

- app.py calls `leave_legacy_mode()` first: a legacy run switches the mode off and reruns
  before rendering anything (it is always a first page load, so nothing is lost);
- app.py runs the chosen page inside `routed()`, and every page starts with `require_app()`,
  which does the same when the page was executed on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

_ROUTED: ContextVar[bool] = ContextVar("pantau_routed", default=False)


@contextmanager
def routed() -> Iterator[None]:
    token = _ROUTED.set(True)
    try:
        yield
    finally:
        _ROUTED.reset(token)


def _pages_manager() -> type[PagesManager]:
    from streamlit.runtime.pages_manager import PagesManager

    return PagesManager


def leave_legacy_mode() -> None:
    manager = _pages_manager()
    if manager.uses_pages_directory:
        manager.uses_pages_directory = False  # what st.navigation does on its first call
        st.rerun()


def require_app() -> None:
    if _ROUTED.get():
        return
    _pages_manager().uses_pages_directory = False
    st.rerun()
