"""The signed-in user of this run, and messages that survive a rerun."""

from __future__ import annotations

import streamlit as st

from services.accounts import Actor

_ACTOR = "pantau_actor"
_FLASH = "pantau_flash"


def set_actor(actor: Actor) -> None:
    st.session_state[_ACTOR] = actor


def current_actor() -> Actor:
    return st.session_state[_ACTOR]


def flash(message: str, *, kind: str = "success") -> None:
    """Show `message` at the top of the next run (e.g. after recording, then rerunning)."""
    st.session_state[_FLASH] = (kind, message)


def show_flash() -> None:
    if _FLASH in st.session_state:
        kind, message = st.session_state.pop(_FLASH)
        getattr(st, kind)(message, icon=":material/check_circle:" if kind == "success" else None)
