"""Streamlit-side helpers shared by app.py and the pages (rendering only, no rules)."""
