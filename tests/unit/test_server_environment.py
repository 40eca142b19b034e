"""The app server is started with the same environment by `make run`, the systemd unit and
the browser tests (docs/deploy.md, "Memory"): what the tests and `make bench` measure is what
runs."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.conftest import SERVER_ENV

REPO = Path(__file__).resolve().parents[2]


def test_make_run_starts_the_server_with_the_tests_environment() -> None:
    makefile = (REPO / "Makefile").read_text()
    setting = re.search(r"^SERVER_ENV := (.*)$", makefile, re.MULTILINE)
    assert setting is not None
    assert dict(pair.split("=", 1) for pair in setting.group(1).split()) == SERVER_ENV
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "$(SERVER_ENV) $(BIN)/python -m streamlit run server.py" in run


def test_the_unit_starts_the_server_with_the_tests_environment() -> None:
    unit = (REPO / "deploy" / "pantau@.service").read_text()
    assert dict(line.removeprefix("Environment=").split("=", 1)
                for line in unit.splitlines() if line.startswith("Environment=")) == SERVER_ENV
