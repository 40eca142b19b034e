"""The database engine for this Streamlit process."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from sqlalchemy import Engine

from db.engine import database_url, make_engine
from db.migrate import is_up_to_date

STYLE_SHEET = Path(__file__).with_name("style.css")


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def engine() -> Engine:
    """One pooled engine per database URL, shared by every session of this process."""
    return _engine_for(database_url())


def stop_unless_database_ready() -> None:
    if not is_up_to_date(engine()):
        st.error(
            "Basis data belum disiapkan atau belum dimigrasikan. Jalankan `make run`, "
            "atau `python manage.py init` lalu muat ulang halaman ini."
        )
        st.stop()
