"""The Waktu (time standard) of a step, as printed and as a working-time target."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

# A working day (docs/design.md, "Working time") is 450 working minutes (37.5 hours over five days).
WORKDAY_MINUTES = 450

TargetKind = Literal["minutes", "schedule", "none"]

_UNIT_MINUTES = {"menit": 1, "jam": 60, "hari": WORKDAY_MINUTES}
_DURATION = re.compile(r"^(\d{1,5})\s*(menit|jam|hari)(?:\s+kerja)?\.?$", re.IGNORECASE)
_SCHEDULE = re.compile(r"^sesuai\s+jadwal\b", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    minutes: int | None = None

    @classmethod
    def stored(cls, kind: str, minutes: int | None) -> Target:
        """A target as the step table stores it (its check constraint allows only these)."""
        for known in get_args(TargetKind):
            if kind == known:
                return cls(known, minutes)
        raise ValueError(f"jenis target tidak dikenal: {kind!r}")


NO_TARGET = Target("none")
SCHEDULE_TARGET = Target("schedule")


class WaktuError(ValueError):
    """A Waktu text that is not one of the forms the catalog understands."""


def parse_waktu(text: str) -> Target:
    """"N Menit" / "N jam" / "N hari" / "Sesuai jadwal ..." / "" -> Target.

    A text of any other form raises WaktuError: a target is never silently zero.
    """
    cleaned = " ".join(text.split())
    if not cleaned:
        return NO_TARGET
    if _SCHEDULE.match(cleaned):
        return SCHEDULE_TARGET
    match = _DURATION.match(cleaned)
    if not match:
        raise WaktuError(
            f"'{cleaned}' bukan bentuk Waktu yang dikenal "
            "(contoh: '30 Menit', '4 jam', '3 hari', 'Sesuai jadwal yang telah ditentukan')"
        )
    amount, unit = int(match.group(1)), match.group(2).casefold()
    if amount == 0:
        raise WaktuError(f"'{cleaned}': Waktu nol bukan target; kosongkan bila tidak ada target")
    return Target("minutes", amount * _UNIT_MINUTES[unit])


def looks_like_waktu(text: str) -> bool:
    """True for a cell that holds a Waktu value (how an importer finds the Waktu column)."""
    cleaned = " ".join(text.split())
    return bool(cleaned) and bool(_SCHEDULE.match(cleaned) or _DURATION.match(cleaned))
