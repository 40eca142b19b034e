"""Pelaksana (performer roles) and the aliases the SOP texts use for them (docs/design.md, "Catalog")."""

from __future__ import annotations

import re
from dataclasses import dataclass

CANONICAL_ROLES = ("Kadis", "Sekretaris", "Fungsional", "Bidang", "Pengadministrasi", "Pengelola Monev")
# The heads of the agency: they watch every SOP (the dashboards, the daily summary by email).
HEADS = frozenset({"Kadis", "Sekretaris"})


@dataclass(frozen=True)
class Alias:
    text: str
    role: str
    # A typo in the source rather than a legitimate other name: the linter reports it.
    is_typo: bool = False


ALIASES = (
    Alias("Fungsional pengelola Monev", "Fungsional"),
    Alias("Fungsional Monev", "Fungsional"),
    Alias("Renja Monev", "Fungsional"),
    Alias("pelaksana", "Pengadministrasi"),
    Alias("Arsiparis", "Pengadministrasi"),
    Alias("Karo", "Kadis", is_typo=True),
)

# Every phrase that names a role, longest first so "Fungsional Monev" wins over "Fungsional".
_PHRASES: dict[str, tuple[str, Alias | None]] = {
    **{name.casefold(): (name, None) for name in CANONICAL_ROLES},
    **{alias.text.casefold(): (alias.role, alias) for alias in ALIASES},
}
ROLE_PHRASE_PATTERN = "|".join(
    re.escape(phrase) for phrase in sorted(_PHRASES, key=len, reverse=True)
)


def canonical_role(text: str) -> str | None:
    """The lane a phrase names ("KADIS" -> "Kadis", "Arsiparis" -> "Pengadministrasi")."""
    found = _PHRASES.get(" ".join(text.split()).casefold())
    return found[0] if found else None


def alias_of(text: str) -> Alias | None:
    found = _PHRASES.get(" ".join(text.split()).casefold())
    return found[1] if found else None


def role_code(name: str) -> str:
    """A stable identifier for a role name ("Pengelola Monev" -> "pengelola-monev")."""
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")
