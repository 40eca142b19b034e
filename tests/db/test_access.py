"""Who may read what (services/access.py): the heads and admins everything; a pencatat every
SOP; anyone else the SOPs in which one of their roles has a step."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.engine import read_session
from db.models import Role, Sop, SopVersion, Step
from services.access import readable_sops, readable_state, require_case_readable, require_heads
from services.cases import audit_trail, case_header, case_visits, step_form
from services.errors import PermissionDenied
from services.metrics import read_history, snapshot
from tests.db.test_workflow_engine import start
from tests.organisation import NOW, Organisation


def sops_with_role(org: Organisation, role: str) -> frozenset[str]:
    with read_session(org.engine) as session:
        return frozenset(session.scalars(
            select(Sop.code).join(SopVersion, SopVersion.sop_id == Sop.id)
            .join(Step, Step.sop_version_id == SopVersion.id).join(Role, Step.role_id == Role.id)
            .where(Role.name == role)))


def test_the_heads_admins_and_recorders_read_every_sop_others_their_own(
        org: Organisation) -> None:
    with read_session(org.engine) as session:
        for username in ("kadis", "sekretaris", "admin", "fungsional"):
            assert readable_sops(session, actor=org.actor(username)) is None, username
        own = readable_sops(session, actor=org.actor("arsiparis"))
    every = sops_with_role(org, "Kadis") | sops_with_role(org, "Sekretaris")
    assert own == sops_with_role(org, "Pengadministrasi") and own and own < every


def test_a_case_of_another_sop_is_refused_by_every_read_service(org: Organisation) -> None:
    own = sops_with_role(org, "Pengadministrasi")
    with read_session(org.engine) as session:
        codes = set(session.scalars(select(Sop.code)))
    other = sorted(codes - own)[0]
    mine = start(org, sop=sorted(own)[0], by="fungsional").case_id
    theirs = start(org, sop=other, by="fungsional").case_id
    arsiparis = org.actor("arsiparis")
    with read_session(org.engine) as session:
        assert case_header(session, actor=arsiparis, case_id=mine).id == mine
        for read in (case_header, case_visits, audit_trail, step_form):
            with pytest.raises(PermissionDenied, match="tidak melibatkan peran Anda"):
                read(session, actor=arsiparis, case_id=theirs)  # type: ignore[operator]
        require_case_readable(session, actor=org.actor("kadis"), case_id=theirs)
        state = readable_state(session, snapshot(read_history(session), as_of=NOW),
                               actor=arsiparis)
    assert set(state.cases["case_id"]) == {mine}
    assert set(state.items["case_id"]) <= {mine}


def test_only_the_heads_and_admins_read_the_dashboards(org: Organisation) -> None:
    for username in ("kadis", "sekretaris", "admin"):
        require_heads(org.actor(username))
    for username in ("fungsional", "arsiparis", "arsip"):
        with pytest.raises(PermissionDenied, match="Kadis, Sekretaris dan admin"):
            require_heads(org.actor(username))
