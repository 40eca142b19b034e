"""The domain: catalog, workflow engine, calendar, metrics, reports, users. No Streamlit here."""
