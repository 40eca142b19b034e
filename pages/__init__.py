"""Pages: each module defines render(), registered by app.py (see ui/routing.py)."""
