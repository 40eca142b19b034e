"""The signed-in user of this run."""

from __future__ import annotations

import streamlit as st

from services.accounts import Actor

_ACTOR = "pantau_actor"


def set_actor(actor: Actor) -> None:
    st.session_state[_ACTOR] = actor


def current_actor() -> Actor:
    return st.session_state[_ACTOR]
