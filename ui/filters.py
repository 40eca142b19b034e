"""Filters every dashboard shares (period in WIB, SOP, unit), kept in the URL so a view can
be shared as a link (?periode=2026-Q3&sop=e-kinerja&unit=sekretariat)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from services.clock import utcnow
from services.formatting import format_wib
from services.metrics import Snapshot, period_is_closed
from services.periods import (
    PERIOD_KINDS,
    PeriodChoice,
    month,
    parse_period,
    quarter,
    semester,
    shift_months,
    today_wib,
    year,
)


@dataclass(frozen=True)
class Filters:
    period: PeriodChoice
    sop_codes: tuple[str, ...] | None
    unit_code: str | None


def _param(name: str) -> str | None:
    value = st.query_params.get(name)
    return value or None


def _follow_link(name: str, keys_and_values: dict[str, object]) -> None:
    """When the URL's value of a filter changed from outside (a link, a pasted address), the
    widgets take it; otherwise they keep what the user chose. Call before the widgets."""
    seen_key = f"filter-url-{name}"
    current = _param(name)
    if seen_key in st.session_state and st.session_state[seen_key] != current:
        for key, value in keys_and_values.items():
            st.session_state[key] = value
    st.session_state[seen_key] = current


def _write(name: str, value: str | None) -> None:
    if value:
        st.query_params[name] = value
    else:
        st.query_params.pop(name, None)
    st.session_state[f"filter-url-{name}"] = value


def period_filter(kind_column: DeltaGenerator, value_column: DeltaGenerator, *,
                  today: date) -> PeriodChoice:
    current = parse_period(_param("periode"), today=today)
    _follow_link("periode", {"filter-jenis": current.kind,
                             f"filter-periode-{current.kind}": current,
                             "filter-rentang": (current.first, current.last)})
    kinds = list(PERIOD_KINDS)
    kind = kind_column.selectbox("Jenis periode", kinds, index=kinds.index(current.kind),
                               format_func=lambda kind: PERIOD_KINDS[kind], key="filter-jenis")
    if kind == "bulan":
        options = [month(shift_months(date(today.year, today.month, 1), -i)) for i in range(36)]
    elif kind == "triwulan":
        options = [quarter(shift_months(date(today.year, (today.month - 1) // 3 * 3 + 1, 1),
                                        -3 * i)) for i in range(16)]
    elif kind == "semester":
        options = [semester(shift_months(date(today.year, today.month, 1), -6 * i))
                   for i in range(8)]
    elif kind == "tahun":
        options = [year(today.year - i) for i in range(8)]
    else:
        first, last = (current.first, current.last) if current.kind == "khusus" else (
            quarter(today).first, today)
        picked = value_column.date_input("Rentang tanggal", value=(first, last), key="filter-rentang",
                                      format="DD/MM/YYYY", max_value=today)
        if isinstance(picked, tuple) and len(picked) == 2:
            chosen = PeriodChoice("khusus", picked[0], picked[1])
        else:
            chosen = PeriodChoice("khusus", first, last)
        _write("periode", chosen.text)
        return chosen
    labels = [option.text for option in options]
    index = labels.index(current.text) if current.text in labels else 0
    if st.session_state.get(f"filter-periode-{kind}") not in options:
        st.session_state.pop(f"filter-periode-{kind}", None)
    chosen = value_column.selectbox("Periode", options, index=index, format_func=lambda p: p.label,
                                    key=f"filter-periode-{kind}")
    _write("periode", chosen.text)
    return chosen


def _requested_sops(catalog: dict[str, str]) -> list[str]:
    return [code for code in (_param("sop") or "").split(",") if code in catalog]


def one_sop_filter(container: DeltaGenerator, catalog: dict[str, str]) -> str:
    """One SOP (the first of the link's, or the catalog's first)."""
    requested = _requested_sops(catalog)
    first = requested[0] if requested else next(iter(catalog))
    _follow_link("sop", {"filter-sop-satu": first})
    code = container.selectbox("SOP", list(catalog), index=list(catalog).index(first),
                               format_func=lambda code: catalog[code], key="filter-sop-satu")
    chosen = code or first
    _write("sop", chosen)
    return chosen


def sop_filter(container: DeltaGenerator, catalog: dict[str, str]) -> tuple[str, ...] | None:
    """Some SOPs, or None for all."""
    requested = _requested_sops(catalog)
    _follow_link("sop", {"filter-sop": requested})
    codes = container.multiselect("SOP", list(catalog), default=requested,
                                  format_func=lambda code: catalog[code], placeholder="Semua SOP",
                                  key="filter-sop")
    _write("sop", ",".join(codes) or None)
    return tuple(codes) or None


def unit_filter(container: DeltaGenerator, units: dict[str, str]) -> str | None:
    options = [None, *units]
    requested = _param("unit") if _param("unit") in units else None
    _follow_link("unit", {"filter-unit": requested})
    code = container.selectbox("Unit", options, index=options.index(requested),
                               format_func=lambda c: "Semua unit" if c is None else units[c],
                               key="filter-unit")
    _write("unit", code)
    return code


def filters(catalog: dict[str, str], units: dict[str, str], *, single_sop: bool = False) -> Filters:
    """The filter row of a dashboard."""
    today = today_wib(utcnow())
    columns = st.columns([1, 1.4, 2, 1.4])
    period = period_filter(columns[0], columns[1], today=today)
    sops = (one_sop_filter(columns[2], catalog),) if single_sop else sop_filter(columns[2],
                                                                                  catalog)
    unit = unit_filter(columns[3], units)
    return Filters(period=period, sop_codes=sops, unit_code=unit)



def as_of_caption(state: Snapshot, period: PeriodChoice) -> str:
    """"keadaan per 1 Jul 2026 00.00 WIB (akhir periode)": what instant the figures stand at."""
    closed = period_is_closed(period, now=utcnow())
    return f"keadaan per {format_wib(state.as_of)}" + (" (akhir periode)" if closed else "")
