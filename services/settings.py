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
