"""Every message that quotes what people typed (names, titles, notes, periods, units) or what a
service refused: shown literally, never as Markdown, so a title like `[x](https://...)` stays
text. One place for errors, warnings, information and the flash after a rerun."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import streamlit as st
from sqlalchemy.orm import Session

from db.engine import write_session
from services.errors import ServiceError
from ui.runtime import engine
from ui.text import markdown_escape

Kind = Literal["success", "info", "warning", "error"]
_FLASH = "pantau_flash"
_ICONS: dict[Kind, str] = {"success": ":material/check_circle:", "info": ":material/info:",
                           "warning": ":material/warning:", "error": ":material/error:"}


def show(text: str, *, kind: Kind = "info") -> None:
    """`text` exactly as written, in a coloured box."""
    getattr(st, kind)(markdown_escape(text), icon=_ICONS[kind])


def show_error(text: str) -> None:
    show(text, kind="error")


def flash(text: str, *, kind: Kind = "success") -> None:
    """Show `text` at the top of the next run (after recording, then rerunning)."""
    st.session_state[_FLASH] = (kind, text)


def show_flash() -> None:
    # One block here on every run, message or not, so the widgets after it keep their places
    # and the browser does not mount them afresh at their defaults (see ui/auth._write_cookie).
    slot = st.container(key="pantau-flash-slot")  # an empty block takes no room on screen
    if _FLASH in st.session_state:
        kind, text = st.session_state.pop(_FLASH)
        with slot:
            show(text, kind=kind)


def perform(action: Callable[[Session], object], success: str, *,
            fresh_form: str | None = None) -> None:
    """Run a write in one transaction. A refusal is shown and the form keeps what was typed;
    on success the page reruns with `success` as its flash (and, for an add form, the form
    `fresh_form` counts as new, so it starts empty)."""
    try:
        with write_session(engine()) as session:
            action(session)
    except ServiceError as error:
        show_error(str(error))
        return
    if fresh_form is not None:
        st.session_state[fresh_form] = st.session_state.get(fresh_form, 0) + 1
    flash(success)
    st.rerun()


def permitted(check: Callable[[], object]) -> None:
    """A service's permission check for a whole page: on a refusal, say why and stop."""
    try:
        check()
    except ServiceError as error:
        show_error(str(error))
        st.stop()
