"""Twenty writers, a hundred actions each, on the same few cases at once (bench/writers.py):
no event lost, none duplicated, every refusal a clean ServiceError. Bounded: about 2,000
actions per backend."""

from __future__ import annotations

from sqlalchemy import func, select

from bench.writers import run_writers, stored_events
from db.engine import make_engine, read_session
from db.models import Event, Visit
from tests.organisation import Organisation

CLEAN_REFUSALS = {"ConcurrentAction", "InvalidTransition", "InvalidTime"}


def test_concurrent_writers_lose_and_duplicate_nothing(org: Organisation,
                                                       database_url: str) -> None:
    engine = make_engine(database_url, pool_size=20, max_overflow=5)
    try:
        run = run_writers(engine, username="fungsional", writers=20, actions=100, seed=1)
        assert run.failures == []
        assert set(run.refused) <= CLEAN_REFUSALS, run.refused
        assert run.recorded + sum(run.refused.values()) == 20 * 100 + 10  # + the first cases
        stored, numbered = stored_events(engine)
        assert stored == numbered == run.recorded
        with read_session(engine) as session:
            twice_ended = session.execute(
                select(Event.visit_id).where(Event.kind.in_(("complete", "approve", "return")))
                .group_by(Event.visit_id).having(func.count() > 1)).all()
            open_twice = session.execute(
                select(Visit.case_id).where(Visit.ended_at.is_(None))
                .group_by(Visit.case_id).having(func.count() > 1)).all()
            ended = session.scalar(select(func.count()).select_from(Visit)
                                   .where(Visit.ended_at.is_not(None)))
            endings = session.scalar(select(func.count()).select_from(Event)
                                     .where(Event.kind.in_(("complete", "approve", "return"))))
        assert twice_ended == [] and open_twice == []
        assert ended == endings == len(run.step_latencies)
    finally:
        engine.dispose()
