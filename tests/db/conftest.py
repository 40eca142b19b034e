from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from db.engine import make_engine
from tests.conftest import PostgresDatabases
from tests.organisation import Organisation, build_organisation


@pytest.fixture
def org(engine: Engine) -> Organisation:
    return build_organisation(engine)


@pytest.fixture
def postgres_engine(postgres_databases: PostgresDatabases) -> Iterator[Engine]:
    """A fresh, migrated PostgreSQL database, for what only PostgreSQL does."""
    engine = make_engine(postgres_databases.fresh())
    yield engine
    engine.dispose()
