"""AppTest helpers: the app runs in this process on a fresh SQLite database, and users log in
through the real login form."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit.testing.v1.app_test as app_test_module
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from services.bootstrap import initialise
from tests.conftest import CATALOG_DIR, REPO_ROOT
from tests.organisation import PASSWORD, build_organisation

APP = str(REPO_ROOT / "app.py")
# Generous: the first run imports pandas, plotly and the services.
APP_TIMEOUT = 90


class _NormalModePagesManager(PagesManager):
    """AppTest puts every run back into Streamlit's legacy pages/ mode (it resets the flag
    and pages/ exists). The app leaves that mode with a rerun, which in AppTest would drop the
    interaction being tested; real sessions are in normal mode after their first page load
    (the browser tests cover that first load). So AppTest runs in normal mode here."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        PagesManager.uses_pages_directory = False


@pytest.fixture(autouse=True)
def app_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(app_test_module, "PagesManager", _NormalModePagesManager)
    monkeypatch.setenv("PANTAU_LOGIN_SLEEP_TIME", "0")
    yield


@pytest.fixture
def app_database(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Migrated, with the catalog, the test organisation (one user per role) and no cases."""
    engine = make_engine(sqlite_url)
    build_organisation(engine)
    engine.dispose()
    monkeypatch.setenv("PANTAU_DATABASE_URL", sqlite_url)
    return sqlite_url


@pytest.fixture
def catalog_only_database(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Migrated, with the catalog, and no user yet (the first-run state)."""
    engine = make_engine(sqlite_url)
    initialise(engine=engine, catalog_dir=CATALOG_DIR)
    engine.dispose()
    monkeypatch.setenv("PANTAU_DATABASE_URL", sqlite_url)
    return sqlite_url


def fresh_app(**query_params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    app.query_params.update(query_params)
    return app


def log_in(app: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    """Through the real login form."""
    app.run()
    fields = {field.label: field for field in app.text_input}
    fields["Nama pengguna"].input(username)
    fields["Kata sandi"].input(password)
    next(b for b in app.button if b.label == "Masuk").click()
    app.run()
    return app


def _opener(password: str) -> Callable[..., AppTest]:
    """Log in as `username` through the form, optionally opening a page (pages/<page>.py)."""

    def open_as(username: str, page: str | None = None, **query_params: str) -> AppTest:
        app = log_in(fresh_app(), username, password)
        assert app.session_state["authentication_status"], [e.value for e in app.error]
        if page is not None:
            app.query_params.clear()
            app.query_params.update(query_params)
            app.switch_page(f"pages/{page}.py").run()
        assert not app.exception, [e.value for e in app.exception]
        return app

    return open_as


@pytest.fixture
def signed_in(app_database: str) -> Callable[..., AppTest]:
    """An app logged in as a user of the test organisation."""
    return _opener(PASSWORD)


def run_ok(app: AppTest) -> AppTest:
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.fixture
def unmigrated_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'kosong.db'}"
    monkeypatch.setenv("PANTAU_DATABASE_URL", url)
    return url


DEMO_UNTIL_TEXT = "2026-11-20T15:00:00+07:00"


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo database (one year, fixed end), built once per test run."""
    from services.accounts import SYSTEM
    from services.demo import load_demo
    from services.formatting import parse_timestamp

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    initialise(engine=engine, catalog_dir=CATALOG_DIR)
    from db.engine import write_session

    until = parse_timestamp(DEMO_UNTIL_TEXT)
    with write_session(engine) as session:
        load_demo(session, actor=SYSTEM, seed=7, years=1, scale=1, until=until, now=until)
    engine.dispose()
    return path


@pytest.fixture
def demo_database(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    import shutil

    path = tmp_path / "demo.db"
    shutil.copyfile(demo_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("PANTAU_DATABASE_URL", url)
    return url


@pytest.fixture
def demo_signed_in(demo_database: str) -> Callable[..., AppTest]:
    """An app logged in as a demo user."""
    from services.demo import DEMO_PASSWORD

    return _opener(DEMO_PASSWORD)


_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~$:])")


def shown(element: Any) -> str:
    """The text a message element shows: messages quoting user text are Markdown-escaped so
    that they render literally (ui/messages.py); this is what the reader sees."""
    return _ESCAPED.sub(r"\1", element.value)
