"""Reading roles and decisions out of an activity text (the seed lost its swimlane marks)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from services.catalog.roles import ROLE_PHRASE_PATTERN, canonical_role

_RETURN_CLAUSE = re.compile(
    rf"dikembalikan\s+(?:kembali\s+)?kepada\s+(?P<role>{ROLE_PHRASE_PATTERN})\b", re.IGNORECASE
)
_DECISION_WORDING = re.compile(
    r"\bjika\s+(?:tidak\s+setuju|belum\s+lengkap|tidak\s+lengkap)", re.IGNORECASE
)
# "... kepada X", "... ke X", "memerintahkan X": who receives the work after this step.
_HANDOFF = re.compile(
    rf"(?:\bkepada|\bke|\bmemerintahkan)\s+(?P<role>{ROLE_PHRASE_PATTERN})\b", re.IGNORECASE
)
_COMMAND = re.compile(rf"\bmemerintahkan\s+(?P<role>{ROLE_PHRASE_PATTERN})\b", re.IGNORECASE)
_RECEIVED_FROM = re.compile(rf"\bdari\s+(?P<role>{ROLE_PHRASE_PATTERN})\b", re.IGNORECASE)
_MENTION = re.compile(
    rf"(?:\bkepada|\bke|\bmemerintahkan|\bdari)\s+(?P<role>{ROLE_PHRASE_PATTERN})\b",
    re.IGNORECASE,
)


def handoff_target(activity: str) -> str | None:
    """The lane the text hands the work to next, ignoring the "returned to" branch.

    The first hand-off counts: a later one sits in a purpose clause ("Mendisposisikan surat
    ke Fungsional untuk menyusun Nota Dinas ke Bidang").
    """
    match = _HANDOFF.search(_RETURN_CLAUSE.sub(" ", activity))
    return canonical_role(match.group("role")) if match else None


def senders(activity: str) -> set[str]:
    """Lanes the text receives from ("Menerima disposisi dari Kadis")."""
    return {role for m in _RECEIVED_FROM.finditer(activity)
            if (role := canonical_role(m.group("role")))}


def has_decision_wording(activity: str) -> bool:
    return bool(_DECISION_WORDING.search(activity) or _RETURN_CLAUSE.search(activity))


def return_role_named(activity: str) -> tuple[str, str] | None:
    """(phrase as written, lane) of "dikembalikan kepada X", if the text has it."""
    match = _RETURN_CLAUSE.search(activity)
    if match is None:
        return None
    role = canonical_role(match.group("role"))
    return (" ".join(match.group("role").split()), role) if role else None


def role_mentions(activity: str) -> Iterator[str]:
    """Each role phrase the text names as a sender or receiver, once, as written."""
    seen: set[str] = set()
    for match in _MENTION.finditer(activity):
        phrase = " ".join(match.group("role").split())
        if phrase.casefold() not in seen:
            seen.add(phrase.casefold())
            yield phrase


def first_performer(activity: str, lanes: list[str] | tuple[str, ...]) -> str | None:
    """Step 1 has no predecessor: the first lane, unless the text says it receives from it."""
    received_from = senders(activity)
    return next((lane for lane in lanes if lane not in received_from), None)


def commanded_role(activity: str) -> str | None:
    """The lane the text orders to do the work ("memerintahkan pelaksana untuk ...")."""
    match = _COMMAND.search(activity)
    return canonical_role(match.group("role")) if match else None
