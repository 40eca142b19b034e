"""A page that does one login-cookie job named in its URL, with the app's own cookie writer
(tests/e2e/test_cookie_writer_browser.py): ?kind=set|delete&token=...&id=..."""

from datetime import timedelta

import streamlit as st

from services.clock import utcnow
from ui.auth import CookieJob, draw_cookie_job

params = st.query_params
kind = "set" if params["kind"] == "set" else "delete"
job = CookieJob(kind, params["token"], expires=utcnow() + timedelta(hours=1), id=params["id"])
draw_cookie_job(job)
