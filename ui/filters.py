"""Filters every dashboard shares (period in WIB, SOP, unit), kept in the URL so a view can
be shared as a link (?periode=2026-Q3&sop=e-kinerja&unit=sekretariat)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from services.clock import utcnow
from services.drilldown import LATE_LABELS, NO_UNIT, STATUSES, VIEWS, Drill, read_drill
from services.formatting import format_wib
from services.metrics import Snapshot, period_is_closed
from services.periods import (
    PERIOD_KINDS,
    PeriodChoice,
    month,
    parse_period,
    quarter,
    read_period,
    semester,
    shift_months,
    today_wib,
    year,
)
from ui.messages import show

ALL_TIME = "semua"


@dataclass(frozen=True)
class Filters:
    period: PeriodChoice
    sop_codes: tuple[str, ...] | None
    unit_code: str | None


def _param(name: str) -> str | None:
    value = st.query_params.get(name)
    return value or None


def _follow_link(name: str, keys_and_values: dict[str, object]) -> bool:
    """Widgets take their values from the session state alone (never also a default, which
    Streamlit would flag): the URL's, when a widget is first drawn or when the URL's value of
    its filter changed from outside (a link, a pasted address); otherwise what the user chose.
    Call before the widgets."""
    seen_key = f"filter-url-{name}"
    current = _param(name)
    changed = seen_key in st.session_state and st.session_state[seen_key] != current
    written = False
    for key, value in keys_and_values.items():
        if changed or key not in st.session_state:
            st.session_state[key] = value
            written = True
    st.session_state[seen_key] = current
    return written


def _held_index(options: list[Any], key: str, *, written: bool) -> int:
    """The `index` of a selectbox whose value lives in the session state: the held value's
    place. The browser falls back to it when it mounts the widget afresh (an element before
    it came or went); with 0 it would come back at the first option, and send that on the
    next click. Streamlit warns about an index beside a value written this run, so then 0."""
    return 0 if written else options.index(st.session_state[key])


def _write(name: str, value: str | None) -> None:
    if value:
        st.query_params[name] = value
    else:
        st.query_params.pop(name, None)
    st.session_state[f"filter-url-{name}"] = value


def period_filter(kind_column: DeltaGenerator, value_column: DeltaGenerator, *,
                  today: date) -> PeriodChoice:
    chosen = _period_filter(kind_column, value_column, today=today, allow_all=False)
    assert chosen is not None  # without "Semua waktu" there is always a period
    return chosen


def _period_options(kind: str, today: date) -> list[PeriodChoice]:
    if kind == "bulan":
        return [month(shift_months(date(today.year, today.month, 1), -i)) for i in range(36)]
    if kind == "triwulan":
        return [quarter(shift_months(date(today.year, (today.month - 1) // 3 * 3 + 1, 1), -3 * i))
                for i in range(16)]
    if kind == "semester":
        return [semester(shift_months(date(today.year, today.month, 1), -6 * i))
                for i in range(8)]
    return [year(today.year - i) for i in range(8)]


def _period_filter(kind_column: DeltaGenerator, value_column: DeltaGenerator, *, today: date,
                   allow_all: bool) -> PeriodChoice | None:
    # A widget whose options differ is another widget to Streamlit: the Kasus list (with
    # "Semua waktu") keeps its own keys, or it would start from the default.
    prefix = "daftar" if allow_all else "filter"
    text = _param("periode")
    current = read_period(text or "") if allow_all else parse_period(text, today=today)
    default_range = (current.first, current.last) if current and current.kind == "khusus" \
        else (quarter(today).first, today)
    seeds: dict[str, object] = {f"{prefix}-jenis": current.kind if current else ALL_TIME,
                                f"{prefix}-rentang": default_range}
    if current is not None and current.kind != "khusus":
        seeds[f"{prefix}-periode-{current.kind}"] = current
    written = _follow_link("periode", seeds)
    kinds = ([ALL_TIME] if allow_all else []) + list(PERIOD_KINDS)
    if st.session_state.get(f"{prefix}-jenis") not in kinds:
        st.session_state[f"{prefix}-jenis"] = kinds[0] if allow_all else "triwulan"
        written = True
    kind = kind_column.selectbox(
        "Jenis periode", kinds,
        format_func=lambda kind: "Semua waktu" if kind == ALL_TIME else PERIOD_KINDS[kind],
        key=f"{prefix}-jenis", index=_held_index(kinds, f"{prefix}-jenis", written=written))
    if kind == ALL_TIME:
        _write("periode", None)
        return None
    if kind == "khusus":
        picked = value_column.date_input("Rentang tanggal", key=f"{prefix}-rentang",
                                         format="DD/MM/YYYY", max_value=today)
        first, last = picked if isinstance(picked, tuple) and len(picked) == 2 else default_range
        chosen = PeriodChoice("khusus", first, last)
        _write("periode", chosen.text)
        return chosen
    options = _period_options(kind, today)
    if st.session_state.get(f"{prefix}-periode-{kind}") not in options:
        st.session_state[f"{prefix}-periode-{kind}"] = options[0]
        written = True
    chosen = value_column.selectbox(
        "Periode", options, format_func=lambda p: p.label, key=f"{prefix}-periode-{kind}",
        index=_held_index(options, f"{prefix}-periode-{kind}", written=written))
    _write("periode", chosen.text)
    return chosen


def _requested_sops(catalog: dict[str, str]) -> list[str]:
    return [code for code in (_param("sop") or "").split(",") if code in catalog]


def one_sop_filter(container: DeltaGenerator, catalog: dict[str, str]) -> str:
    """One SOP (the first of the link's, or the catalog's first)."""
    requested = _requested_sops(catalog)
    written = _follow_link("sop", {"filter-sop-satu": requested[0] if requested
                                   else next(iter(catalog))})
    if st.session_state["filter-sop-satu"] not in catalog:
        st.session_state["filter-sop-satu"] = next(iter(catalog))
        written = True
    code = container.selectbox("SOP", list(catalog), format_func=lambda code: catalog[code],
                               key="filter-sop-satu",
                               index=_held_index(list(catalog), "filter-sop-satu", written=written))
    _write("sop", code)
    return code


def sop_filter(container: DeltaGenerator, catalog: dict[str, str], *,
               key: str = "filter-sop") -> tuple[str, ...] | None:
    """Some SOPs, or None for all."""
    _follow_link("sop", {key: _requested_sops(catalog)})
    codes = container.multiselect("SOP", list(catalog), format_func=lambda code: catalog[code],
                                  placeholder="Semua SOP", key=key)
    _write("sop", ",".join(codes) or None)
    return tuple(codes) or None


def _choice(container: DeltaGenerator, label: str, name: str, options: dict[str, str], *,
            everything: str, key: str, help: str | None = None) -> str | None:
    """One of `options` (value: label), or None for `everything`; kept in the URL as `name`."""
    # "" stands for everything: a selectbox whose state is None shows no choice at all.
    choices = ["", *options]
    requested = _param(name) or ""
    if requested and requested not in options:
        show(f"{label} '{requested}' dari tautan tidak dikenal; saringan itu diabaikan.",
             kind="warning")
    written = _follow_link(name, {key: requested if requested in options else ""})
    if st.session_state[key] not in choices:
        st.session_state[key] = ""
        written = True
    value = container.selectbox(label, choices, key=key, help=help,
                                format_func=lambda v: options[v] if v else everything,
                                index=_held_index(choices, key, written=written))
    _write(name, value or None)
    return value or None


def unit_filter(container: DeltaGenerator, units: dict[str, str], *,
                key: str = "filter-unit") -> str | None:
    return _choice(container, "Unit", "unit", units, everything="Semua unit", key=key)


def filters(catalog: dict[str, str], units: dict[str, str], *, single_sop: bool = False) -> Filters:
    """The filter row of a dashboard."""
    today = today_wib(utcnow())
    columns = st.columns([1, 1.4, 2, 1.4])
    period = period_filter(columns[0], columns[1], today=today)
    sops = (one_sop_filter(columns[2], catalog),) if single_sop else sop_filter(columns[2],
                                                                                  catalog)
    unit = unit_filter(columns[3], units)
    return Filters(period=period, sop_codes=sops, unit_code=unit)


def drill_filters(catalog: dict[str, str], units: dict[str, str],
                  people: dict[str, str]) -> Drill:
    """The Kasus page's filters: which rows (cases, step visits, pending items) and which of
    them; read from the URL and written back to it. `people`: username -> full name."""
    today = today_wib(utcnow())
    from_link = read_drill(st.query_params.to_dict())  # the step and role a chart's link names
    _follow_link("lihat", {"daftar-lihat": from_link.view})
    view = st.segmented_control("Tampilkan", list(VIEWS), format_func=lambda v: VIEWS[v],
                                key="daftar-lihat") or "kasus"
    if view != from_link.view:  # another kind of rows: another set of statuses
        st.query_params.pop("status", None)
    _write("lihat", None if view == "kasus" else view)
    columns = st.columns([1, 1.4, 2, 1.4])
    period = _period_filter(columns[0], columns[1], today=today, allow_all=True)
    sops = sop_filter(columns[2], catalog, key="daftar-sop")
    with_none = _param("unit") == NO_UNIT  # a queue bar of work that belongs to no unit
    unit = unit_filter(columns[3], {**units, NO_UNIT: "(tanpa unit)"} if with_none else units,
                       key="daftar-unit-tanpa" if with_none else "daftar-unit")
    status_column, person_column, search_column, late_column = st.columns(
        [1.4, 1.6, 2, 1.2], vertical_alignment="bottom")
    status = _choice(status_column, "Status", "status", STATUSES[view], everything="Semua",
                     key=f"daftar-status-{view}")
    person = _choice(person_column, "Dipegang oleh" if view == "tugas" else "Petugas", "orang",
                     people, everything="Semua orang", key="daftar-orang",
                     help="Kasus dan kunjungan: yang dikerjakan orang ini. Tugas: yang menunggu "
                          "orang ini.")
    _follow_link("cari", {"daftar-cari": _param("cari") or ""})
    search = search_column.text_input("Cari judul atau nomor kasus", key="daftar-cari",
                                      help="Paling banyak 100 karakter.").strip()[:100]
    _write("cari", search or None)
    _follow_link("terlambat", {"daftar-terlambat": _param("terlambat") == "1"})
    late = late_column.toggle("Terlambat saja", key="daftar-terlambat", help=LATE_LABELS[view])
    _write("terlambat", "1" if late else None)
    return Drill(view=view, period=period, sop_codes=sops or (), unit_code=unit, status=status,
                 late_only=late, seq=from_link.seq, role=from_link.role, person=person,
                 search=search or None)


def as_of_caption(state: Snapshot, period: PeriodChoice) -> str:
    """"keadaan per 1 Jul 2026 00.00 WIB (akhir periode)": what instant the figures stand at."""
    closed = period_is_closed(period, now=utcnow())
    return f"keadaan per {format_wib(state.as_of)}" + (" (akhir periode)" if closed else "")
