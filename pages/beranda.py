"""Beranda: app.py sends each user on to the landing page of their role."""

from __future__ import annotations

import streamlit as st

from ui.routing import require_app

require_app()
st.write("Mengalihkan ke halaman utama Anda ...")
