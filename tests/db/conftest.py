import pytest
from sqlalchemy import Engine

from tests.organisation import Organisation, build_organisation


@pytest.fixture
def org(engine: Engine) -> Organisation:
    return build_organisation(engine)
