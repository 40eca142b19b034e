"""`make bench`: the speed and memory figures the issues name, measured on a demo database."""

import os

from services.history_cache import CACHE_DIR_ENV, cache_base

# The page timings start their servers with the browser tests' helpers (tests.e2e.conftest),
# and importing the tests points PANTAU_CACHE_DIR at a fresh folder for test databases. The
# bench's servers must find the history `manage.py init` left on disk, as the app's do;
# without this every cold page read the whole history from the database (at ten million
# events 18 s and a 3.6 GB process, against a load from disk).
os.environ.setdefault(CACHE_DIR_ENV, str(cache_base()))
