"""The web entry point: `streamlit run server.py` serves the app (app.py) through Streamlit's
own server, with the app's page addresses answered by ui/index_page.py (a page opened by its
address connects without a refused probe first). AppTest and the scripts run app.py itself."""

from __future__ import annotations

import streamlit as st

from ui.index_page import page_routes

app = st.App("app.py", routes=page_routes())
