"""Small settings the admin controls, kept in app_setting."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from db.models import AppSetting
from services.accounts import Actor, require_admin
from services.errors import InvalidInput

DEFAULTS: dict[str, Any] = {
    # The share of visits within their Mutu Baku the agency aims for (the dashboards' line).
    "compliance_target": 0.8,
    # Tabel 7 pre-fill: a step "berjalan dengan baik" when at least this share of its visits
    # ended within the Mutu Baku and at most this share of its decisions were returns.
    "monitoring_min_compliance": 0.8,
    "monitoring_max_return_rate": 0.2,
    # The place printed above the signatures of the report forms.
    "report_city": "Pontianak",
    # Whether a pencatat may record an approval or a return for the role that decided (naming
    # the person and the Nota Dinas or disposition it came from; docs/design.md, "Workflow").
    "decisions_on_behalf": True,
}


def get_setting(session: Session, key: str) -> Any:
    stored = session.get(AppSetting, key)
    return stored.value if stored is not None else DEFAULTS[key]


def set_compliance_target(session: Session, *, actor: Actor, value: float, now: datetime) -> None:
    require_admin(actor)
    if not 0 < value <= 1:
        raise InvalidInput("Target kepatuhan antara 1% dan 100%.")
    session.merge(AppSetting(key="compliance_target", value=value, updated_at=now))
    session.flush()


def set_monitoring_thresholds(session: Session, *, actor: Actor, min_compliance: float,
                              max_return_rate: float, now: datetime) -> None:
    require_admin(actor)
    if not 0 <= min_compliance <= 1 or not 0 <= max_return_rate <= 1:
        raise InvalidInput("Ambang penilaian antara 0% dan 100%.")
    session.merge(AppSetting(key="monitoring_min_compliance", value=min_compliance,
                             updated_at=now))
    session.merge(AppSetting(key="monitoring_max_return_rate", value=max_return_rate,
                             updated_at=now))
    session.flush()


def set_decisions_on_behalf(session: Session, *, actor: Actor, allowed: bool,
                            now: datetime) -> None:
    require_admin(actor)
    session.merge(AppSetting(key="decisions_on_behalf", value=allowed, updated_at=now))
    session.flush()
