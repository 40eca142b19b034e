"""The bench measures the app as it runs: its page servers find the kept history where
`manage.py init` left it."""

from __future__ import annotations

import os
import subprocess
import sys

from services.history_cache import CACHE_DIR_ENV
from tests.conftest import REPO_ROOT


def test_the_bench_page_servers_use_the_apps_history_folder_not_the_tests() -> None:
    env = {key: value for key, value in os.environ.items() if key != CACHE_DIR_ENV}
    shown = subprocess.run(
        [sys.executable, "-c", "import os, bench.pages; print(os.environ['PANTAU_CACHE_DIR'])"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert shown == str(REPO_ROOT / "data" / "cache")
