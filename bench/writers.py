"""Concurrent writers through the services: many users recording steps on the same cases at
once, as a busy office would. Used by the load test (correctness: nothing lost, nothing
duplicated, every refusal a clean ServiceError) and by `make bench` (throughput, latency).

Each writer is a thread with its own sessions, acting as a pencatat (who may record any
role's step): it picks one of the shared running cases, reads which visit is open, and
records that step (approving at a decision), passing the visit it saw, so a writer who lost
the race is refused instead of acting on the next step. Now and then it starts a new case.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select

from db.engine import read_session, write_session
from db.models import Case, Event, User, UserRole, Visit
from services.accounts import load_actor
from services.clock import utcnow
from services.errors import ServiceError
from services.workflow import engine as wf
from services.workflow.model import Performer

SOP = "e-kinerja"
START_SHARE = 0.1  # of actions that start a case; the rest record a step


@dataclass
class WriterRun:
    writers: int
    actions: int
    seconds: float
    recorded: int = 0  # actions that wrote an event
    refused: Counter[str] = field(default_factory=Counter)  # ServiceError class -> count
    failures: list[str] = field(default_factory=list)  # anything else: a bug
    step_latencies: list[float] = field(default_factory=list)  # seconds, recorded steps

    @property
    def per_second(self) -> float:
        return self.writers * self.actions / self.seconds

    @property
    def p95_ms(self) -> float:
        return statistics.quantiles(self.step_latencies, n=20)[-1] * 1000


def _open_visit(engine: Engine, case_id: int) -> tuple[int, int, int] | None:
    """(visit id, seq, sop version id) of the case's open visit, if it still runs."""
    with read_session(engine) as session:
        row = session.execute(
            select(Visit.id, Visit.seq, Case.sop_version_id).join(Case, Visit.case_id == Case.id)
            .where(Visit.case_id == case_id, Visit.ended_at.is_(None),
                   Case.status == "active")).first()
    return None if row is None else (row[0], row[1], row[2])


def run_writers(engine: Engine, *, username: str, writers: int = 20, actions: int = 100,
                seed: int = 0) -> WriterRun:
    with read_session(engine) as session:
        actor = load_actor(session, username=username)
        plan = wf.load_plan(session, version_id=wf.current_version_id(session, sop_code=SOP))
        # A decision recorded for someone else names who decided and the Nota Dinas
        # (services/workflow/model.decision_source): the first active holder of the role.
        deciders = {step.seq: session.scalar(
            select(User.username).join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role_id == step.role_id, User.is_active).order_by(User.id).limit(1))
            for step in plan.steps if step.is_decision}
    cases: list[int] = []
    lock = threading.Lock()
    run = WriterRun(writers=writers, actions=actions, seconds=0.0)

    def start(rng: random.Random) -> None:
        with write_session(engine) as session:
            recorded = wf.start_case(session, actor=actor, sop_code=SOP,
                                     title=f"Beban {rng.random():.6f}", at=utcnow())
        with lock:
            cases.append(recorded.case_id)
            run.recorded += 1

    def step(rng: random.Random) -> None:
        with lock:
            case_id = rng.choice(cases) if cases else None
        seen = None if case_id is None else _open_visit(engine, case_id)
        if seen is None:
            if case_id is not None:
                with lock:
                    if case_id in cases:
                        cases.remove(case_id)
            start(rng)
            return
        visit_id, seq, _version = seen
        assert case_id is not None  # a case was chosen: it has an open visit
        began = time.perf_counter()
        decider = deciders.get(seq)
        with write_session(engine) as session:
            # A recorder writing up the Buku Agenda: the performer is the step's role, and a
            # decision names its decider and the disposition it came from.
            wf.record_step(session, actor=actor, case_id=case_id, visit_id=visit_id, seq=seq,
                           kind="approve" if seq in deciders else "complete", at=utcnow(),
                           performer=Performer.UNKNOWN if decider is None else decider,
                           decision_source=None if decider is None else "Disposisi 1/beban")
        elapsed = time.perf_counter() - began
        with lock:
            run.recorded += 1
            run.step_latencies.append(elapsed)

    def writer(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        for _ in range(actions):
            try:
                if rng.random() < START_SHARE:
                    start(rng)
                else:
                    step(rng)
            except ServiceError as refusal:
                with lock:
                    run.refused[type(refusal).__name__] += 1
            except Exception as error:  # noqa: BLE001 - the point is to catch any bug
                with lock:
                    run.failures.append(f"{type(error).__name__}: {error}")

    for _ in range(writers // 2):  # a few cases to fight over from the first action
        start(random.Random(seed))
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.seconds = time.perf_counter() - began
    return run


def stored_events(engine: Engine) -> tuple[int, int]:
    """(events stored, events the cases' numbering accounts for): equal when none is lost."""
    with read_session(engine) as session:
        stored = session.scalar(select(func.count()).select_from(Event)) or 0
        numbered = session.scalar(select(func.coalesce(func.sum(Case.last_event_no), 0))) or 0
    return stored, int(numbered)


def measure(*, workdir: str, postgres_server: str | None, writers: int = 20,
            actions: int = 100) -> list[tuple[str, WriterRun, tuple[int, int]]]:
    """`make bench`: the run on a fresh SQLite file and, given a server, a fresh PostgreSQL
    database (created and dropped here)."""
    import uuid

    from bench.postgres import fresh_database
    from db.engine import make_engine
    from tests.organisation import build_organisation

    def one(url: str) -> tuple[WriterRun, tuple[int, int]]:
        engine = make_engine(url, pool_size=writers, max_overflow=5)
        try:
            build_organisation(engine)
            run = run_writers(engine, username="fungsional", writers=writers, actions=actions)
            return run, stored_events(engine)
        finally:
            engine.dispose()

    results = [("SQLite", *one(f"sqlite:///{workdir}/writers-{uuid.uuid4().hex}.db"))]
    if postgres_server:
        with fresh_database(postgres_server, purpose="writers") as url:
            results.append(("PostgreSQL", *one(url)))
    return results
