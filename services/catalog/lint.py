"""What a reviewer should fix in an SOP (docs/design.md, "Catalog").

Findings are advice, not load errors: the catalog keeps the SOP as printed (duplicate and
missing numbers included) and records its reading in `interpretation_note`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from services.catalog.definition import SopDef, StepDef
from services.catalog.reading import (
    first_performer,
    handoff_target,
    has_decision_wording,
    return_role_named,
    role_mentions,
    senders,
)
from services.catalog.roles import alias_of, canonical_role

Severity = Literal["error", "warning", "info"]
SEVERITY_LABELS: dict[Severity, str] = {"error": "galat", "warning": "peringatan", "info": "info"}

_TITLES = re.compile(r"\b(?:drs?|dr|ir|h|prof|m\.?\s?m|s\.?\s?sos|s\.?\s?e|m\.?\s?si)\b\.?",
                     re.IGNORECASE)
_REPEATED_WORD = re.compile(r"\b(\w+)\s+\1\b", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    sop_code: str
    severity: Severity
    kind: str
    message: str
    step: int | None = None  # seq
    label: str | None = None  # the step's label (definition.step_labels), set by lint()

    def line(self) -> str:
        where = f"langkah {self.label or self.step}" if self.step is not None else "-"
        return f"{SEVERITY_LABELS[self.severity]:<10} {self.sop_code:<28} {where:<11} {self.message}"


def lint(sops: Sequence[SopDef]) -> list[Finding]:
    """Findings for each SOP, then those that compare SOPs (the approver's name)."""
    findings: list[Finding] = []
    for sop in sops:
        findings += _numbering(sop)
        findings += _mutu_baku(sop)
        findings += _roles_in_text(sop)
        findings += _performers(sop)
        findings += _decisions(sop)
        findings += _idle_lanes(sop)
        findings += _header_typos(sop)
    findings += _approver_variants(sops)
    order = {sop.code: index for index, sop in enumerate(sops)}
    labels = {sop.code: sop.labels() for sop in sops}
    findings = [replace(f, label=labels[f.sop_code][f.step]) if f.step is not None else f
                for f in findings]
    return sorted(findings, key=lambda f: (order[f.sop_code], f.step or 0))


def _numbering(sop: SopDef) -> Iterable[Finding]:
    for step in sop.steps:
        if step.label is None:
            yield Finding(sop.code, "warning", "unnumbered",
                          f"baris tanpa nomor di tabel sumber (diberi label {sop.label(step.seq)})",
                          step.seq)
    numbers = [int(s.label) for s in sop.steps if s.label is not None and s.label.isdigit()]
    for number, count in sorted(Counter(numbers).items()):
        if count > 1:
            holders = [s.seq for s in sop.steps if s.label == str(number)]
            yield Finding(
                sop.code, "warning", "duplicate-number",
                f"nomor '{number}' dipakai {count} kali (langkah {_join(holders)})", holders[-1],
            )
    if numbers:
        missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
        if missing:
            yield Finding(sop.code, "warning", "numbering-gap",
                          f"penomoran melompat: nomor {_join(missing)} tidak ada")


def _mutu_baku(sop: SopDef) -> Iterable[Finding]:
    for step in sop.steps:
        empty = [name for name, value in (("Kelengkapan", step.kelengkapan),
                                          ("Waktu", step.waktu), ("Output", step.output))
                 if not value]
        if empty:
            yield Finding(sop.code, "warning", "missing-mutu-baku",
                          f"Mutu Baku kosong: {', '.join(empty)}", step.seq)


def _roles_in_text(sop: SopDef) -> Iterable[Finding]:
    for step in sop.steps:
        for phrase in role_mentions(step.activity):
            role = canonical_role(phrase)
            alias = alias_of(phrase)
            if alias is not None and alias.is_typo:
                yield Finding(sop.code, "warning", "role-typo",
                              f"'{phrase}' bukan Pelaksana; dibaca sebagai {role} (salah ketik?)",
                              step.seq)
            elif role not in sop.lanes:
                yield Finding(sop.code, "warning", "role-not-lane",
                              f"'{phrase}' ({role}) disebut di teks tetapi bukan lajur SOP ini",
                              step.seq)
            elif alias is not None:
                yield Finding(sop.code, "info", "role-alias",
                              f"'{phrase}' dibaca sebagai lajur {role}", step.seq)


def _performers(sop: SopDef) -> Iterable[Finding]:
    """Where the text does not say who performs a step (the source lost its swimlane marks):
    the performer changes without a hand-off, or against the hand-off the text names."""
    labels = sop.labels()
    for index, step in enumerate(sop.steps):
        following = sop.steps[index + 1] if index + 1 < len(sop.steps) else None
        if step.role is None or (following is not None
                                 and step.role in senders(following.activity)):
            continue  # "... dari <role>" in the next step says who did this one
        if index == 0:
            expected = first_performer(step.activity, sop.lanes)
            if step.role != expected:
                yield Finding(sop.code, "info", "performer-unmarked",
                              f"teks tidak menyebut Pelaksana langkah pertama (tanda lajur tidak "
                              f"ada); dibaca {step.role}, bukan lajur pertama {expected}",
                              step.seq)
            continue
        previous = sop.steps[index - 1]
        handed = handoff_target(previous.activity)
        if handed in sop.lanes and handed != step.role:
            yield Finding(sop.code, "warning", "performer-against-handoff",
                          f"langkah {labels[previous.seq]} menyerahkan kepada {handed}, tetapi "
                          f"Pelaksana langkah ini {step.role}", step.seq)
        elif handed not in sop.lanes and step.role != previous.role:
            yield Finding(sop.code, "info", "performer-unmarked",
                          f"Pelaksana berganti dari {previous.role} ke {step.role} tanpa serah "
                          "terima di teks (tanda lajur tidak ada)", step.seq)


def _nearest_before(sop: SopDef, step: StepDef, role: str) -> int | None:
    return next((s.seq for s in reversed(sop.steps[: step.seq - 1]) if s.role == role), None)


def _decisions(sop: SopDef) -> Iterable[Finding]:
    for step in sop.steps:
        worded = has_decision_wording(step.activity)
        named = return_role_named(step.activity)
        if not worded:
            if step.decision is not None:
                yield Finding(sop.code, "info", "decision-without-wording",
                              "langkah keputusan, tetapi teksnya tidak menyebut pengembalian",
                              step.seq)
            continue
        configured = (f"; katalog menafsirkan kembali ke langkah {step.decision.return_to}"
                      if step.decision is not None else "")
        if named is None:
            yield Finding(sop.code, "warning", "return-target-unnamed",
                          "teks keputusan tidak menyebut kepada siapa pekerjaan dikembalikan"
                          + configured, step.seq)
            continue
        phrase, role = named
        resolved = _nearest_before(sop, step, role)
        if resolved is None:
            yield Finding(sop.code, "warning", "return-target-unresolved",
                          f"dikembalikan kepada '{phrase}', tetapi tidak ada langkah sebelumnya "
                          f"oleh {role}" + configured, step.seq)
        elif step.decision is None:
            yield Finding(sop.code, "warning", "decision-missing",
                          f"teks menyebut pengembalian kepada '{phrase}' (langkah {resolved}), "
                          "tetapi langkah ini bukan langkah keputusan", step.seq)
        elif step.decision.return_to != resolved:
            yield Finding(sop.code, "warning", "return-target-mismatch",
                          f"katalog kembali ke langkah {step.decision.return_to}, teks "
                          f"('{phrase}') menunjuk langkah {resolved}", step.seq)


def _idle_lanes(sop: SopDef) -> Iterable[Finding]:
    used = {step.role for step in sop.steps}
    for lane in sop.lanes:
        if lane not in used:
            yield Finding(sop.code, "info", "idle-lane",
                          f"lajur {lane} tidak melaksanakan satu langkah pun")


def _header_typos(sop: SopDef) -> Iterable[Finding]:
    for line in sop.identity.instansi:
        match = _REPEATED_WORD.search(line)
        if match:
            yield Finding(sop.code, "warning", "repeated-word",
                          f"kop instansi mengulang kata '{match.group(1)}': '{line}'")


def normalised_name(name: str) -> str:
    """"Drs. SUGENG HARIADI, M.M." -> "sugeng hariadi" (titles, case and punctuation dropped)."""
    without_titles = _TITLES.sub(" ", name)
    return " ".join(re.sub(r"[^\w\s]", " ", without_titles).casefold().split())


def _normalised_rank(pangkat: str) -> str:
    """"Pembina Utama Muda (IV/c)" -> "pembina utama muda": the golongan may be left out."""
    return " ".join(re.sub(r"\(.*?\)", " ", pangkat).casefold().split())


def _approver_variants(sops: Sequence[SopDef]) -> Iterable[Finding]:
    """The same official (same NIP, or else same name) written in different ways."""
    groups: dict[str, list[SopDef]] = defaultdict(list)
    for sop in sops:
        approver = sop.identity.disahkan_oleh
        key = approver.nip or normalised_name(approver.nama)
        if key:
            groups[key].append(sop)
    for group in groups.values():
        yield from _variants(group, "nama", "approver-name-variant", "warning", normalised_name)
        yield from _variants(group, "pangkat", "approver-rank-variant", "info", _normalised_rank)


def _variants(group: list[SopDef], attribute: str, kind: str, severity: Severity,
              normalise: Callable[[str], str]) -> Iterable[Finding]:
    by_form: dict[str, list[SopDef]] = defaultdict(list)
    for sop in group:
        value = getattr(sop.identity.disahkan_oleh, attribute)
        if value:
            by_form[normalise(value)].append(sop)
    if len(by_form) < 2:
        return
    usual = max(by_form, key=lambda form: len(by_form[form]))
    usual_text = getattr(by_form[usual][0].identity.disahkan_oleh, attribute)
    for form, members in by_form.items():
        if form == usual:
            continue
        for sop in members:
            written = getattr(sop.identity.disahkan_oleh, attribute)
            yield Finding(
                sop.code, severity, kind,
                f"{attribute} pengesah ditulis '{written}', di {len(by_form[usual])} SOP lain "
                f"'{usual_text}' (NIP sama)",
            )


def _join(numbers: Sequence[int]) -> str:
    text = [str(n) for n in numbers]
    return text[0] if len(text) == 1 else f"{', '.join(text[:-1])} dan {text[-1]}"
