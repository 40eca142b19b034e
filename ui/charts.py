"""Plotly figures of the pages. One colour meaning everywhere (ui.format), Indonesian labels,
decimal comma, dates as "20 Nov 2026".

Readable at 1366 px and on a 390 px phone: a figure has no title of its own (the page writes it
above the chart), so a legend can sit above its plot and grow upwards as it wraps, never onto
an axis or a title; a target line is drawn under the bars, so it never crosses their labels.

A figure of the dashboards opens the rows behind each of its points: the point's customdata
ends with the link of a services.drilldown.Drill (ui.drill follows it on a click).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from services.cases import OUTCOME_LABELS
from services.formatting import (
    MONTHS_SHORT,
    WIB,
    format_day,
    format_minutes,
    format_number,
    format_wib,
)
from services.formatting import format_percent as percent
from ui.format import OVER, SLA, WITHIN, sla_color, sla_label

FONT = {"family": "Source Sans Pro, sans-serif", "size": 13}
LAYOUT: dict[str, Any] = {"separators": ",.", "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
                          "font": FONT}
CLICK_HINT = "<br><i>klik untuk membuka daftarnya</i>"


LEGEND_ABOVE = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0,
                "traceorder": "normal"}


def _with_legend(figure: go.Figure, **layout: Any) -> go.Figure:
    figure.update_layout(**{**LAYOUT, "margin": {"l": 10, "r": 10, "t": 10, "b": 10}},
                         legend=LEGEND_ABOVE, **layout)
    return figure


def short(text: str, length: int = 38) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _links(links: Sequence[str] | None, count: int) -> list[str]:
    return list(links) if links is not None else [""] * count


def compliance_by_sop(table: pd.DataFrame, *, target: float,
                      links: Sequence[str] | None = None) -> go.Figure:
    table = table.assign(link=_links(links, len(table)))
    shown = table.dropna(subset=["compliance"]).iloc[::-1]  # weakest at the top
    meets = shown["compliance"] >= target
    figure = go.Figure(go.Bar(
        x=shown["compliance"], y=[short(n, 32) for n in shown["name"]], orientation="h",
        marker_color=np.where(meets, WITHIN[1], OVER[1]),
        text=[f"{'✓' if ok else '✕'} {percent(v)}" for v, ok in zip(
            shown["compliance"], meets, strict=True)],
        textposition="inside", insidetextanchor="start",
        customdata=shown[["within", "with_target", "link"]],
        hovertemplate="%{y}<br>%{customdata[0]} dari %{customdata[1]} kunjungan dalam Mutu "
                      "Baku" + CLICK_HINT + "<extra></extra>", showlegend=False))
    figure.add_vline(x=target, line={"color": "black", "dash": "dash", "width": 2},
                     layer="below", annotation_text=f"Target {percent(target)}",
                     # above the plot, in the top margin: inside it, it lay over the top bar
                     annotation_position="top left", annotation_yanchor="bottom")
    figure.update_layout(**{**LAYOUT, "margin": {"l": 10, "r": 10, "t": 30, "b": 10}},
                         xaxis={"tickformat": ".0%", "range": [0, 1.05]},
                         height=70 + 48 * max(len(shown), 1))
    return figure


def compliance_by_month(table: pd.DataFrame, *, target: float, labels: list[str],
                        links: Sequence[str] | None = None) -> go.Figure:
    table = table.assign(link=_links(links, len(table)))
    figure = go.Figure()
    symbols = ["circle", "square", "diamond", "triangle-up", "x", "star", "cross"]
    for index, (name, rows) in enumerate(table.groupby("name", sort=True)):
        figure.add_trace(go.Scatter(
            x=rows["label"], y=rows["compliance"], name=short(name, 30), mode="lines+markers",
            marker={"symbol": symbols[index % len(symbols)], "size": 9},
            customdata=rows[["visits", "link"]],
            hovertemplate="%{x}: %{y:.0%} dari %{customdata[0]} kunjungan" + CLICK_HINT
                          + "<extra>%{fullData.name}</extra>"))
    figure.add_hline(y=target, line={"color": "black", "dash": "dash", "width": 2},
                     layer="below")
    return _with_legend(figure, yaxis={"tickformat": ".0%", "range": [0, 1.05]},
                        xaxis={"categoryorder": "array", "categoryarray": labels}, height=400)


def step_name(label: str) -> str:
    """A step on an axis: its label ("No. 9a"), unique within the SOP."""
    return f"No. {label}"


def step_durations(table: pd.DataFrame, *, links: Sequence[str] | None = None) -> go.Figure:
    """Box per step from precomputed statistics (p5 and p95 as whiskers) and the target; a
    marker at each median opens the step's visits."""
    names = {seq: step_name(label) for seq, label in zip(table["seq"], table["label"],
                                                          strict=True)}
    table = table.assign(link=_links(links, len(table)))
    shown = table.dropna(subset=["median"])
    figure = go.Figure(go.Box(
        x=shown["seq"].map(names), q1=shown["q1"], median=shown["median"], q3=shown["q3"],
        lowerfence=shown["p5"], upperfence=shown["p95"], mean=shown["mean"],
        name="Waktu kerja (p5–p95)", marker_color="#0072B2", boxmean=True, hoverinfo="skip"))
    figure.add_trace(go.Scatter(
        x=shown["seq"].map(names), y=shown["median"], mode="markers", name="Median",
        marker={"symbol": "diamond", "size": 11, "color": "#0072B2",
                "line": {"width": 1, "color": "white"}},
        customdata=np.column_stack([shown["n"].fillna(0).astype(int),
                                    shown["median"].map(format_minutes),
                                    shown["p95"].map(format_minutes), shown["link"]])
        if len(shown) else None,
        hovertemplate="%{x}: %{customdata[0]} kunjungan, median %{customdata[1]}, p95 "
                      "%{customdata[2]}" + CLICK_HINT + "<extra></extra>"))
    targets = shown.dropna(subset=["target"])
    figure.add_trace(go.Scatter(
        x=targets["seq"].map(names), y=targets["target"], mode="markers",
        name="Mutu Baku", marker={"symbol": "line-ew", "size": 26,
                                  "line": {"width": 3, "color": "black"}},
        customdata=[format_minutes(t) for t in targets["target"]],
        hovertemplate="Mutu Baku %{customdata}<extra></extra>"))
    spread = shown["p95"].max() / max(shown["p5"].clip(lower=1).min(), 1) if len(shown) else 1
    axis: dict[str, object] = {"title": "waktu kerja" + (" (skala log)" if spread > 30 else "")}
    if spread > 30:
        axis.update(type="log", tickvals=[minutes for minutes, _ in LOG_TICKS],
                    ticktext=[label for _, label in LOG_TICKS])
    return _with_legend(figure, yaxis=axis, height=430)


# Readable ticks for a log axis of working minutes (a working day is 450 minutes).
LOG_TICKS = [(1, "1 mnt"), (5, "5 mnt"), (15, "15 mnt"), (60, "1 jam"), (240, "4 jam"),
             (450, "1 hari"), (1350, "3 hari"), (2250, "5 hari"), (9000, "20 hari")]


def overrun_heatmap(table: pd.DataFrame, *, steps: pd.DataFrame, months: list[tuple[str, str]],
                    links: Sequence[str] | None = None) -> go.Figure:
    """`steps`: seq and label of every step of the SOP (rows of the map, in order); `links`:
    one per row of `table` (a cell)."""
    # Short row names leave the cells room on a phone; the hover names the step in full.
    names = {seq: short(f"{label}. {activity}", 20) for seq, label, activity in zip(
        steps["seq"], steps["label"], steps["activity"], strict=True)}
    full_names = {seq: f"{label}. {activity}" for seq, label, activity in zip(
        steps["seq"], steps["label"], steps["activity"], strict=True)}
    order = sorted(names)
    grid = table.pivot(index="seq", columns="month", values="share_over").reindex(
        index=order, columns=[key for key, _ in months])
    month_labels = dict(months)
    figure = go.Figure(go.Heatmap(
        z=grid.to_numpy(), x=[label for _, label in months],
        y=[names[s] for s in order], colorscale="Oranges", zmin=0, zmax=1,
        text=[[("" if np.isnan(v) else percent(v, digits=0)) for v in row]
              for row in grid.to_numpy()],
        texttemplate="%{text}", hoverinfo="skip",
        colorbar={"title": "lewat", "tickformat": ".0%", "thickness": 12}))
    # Each cell also holds an invisible marker: a heat map itself cannot be clicked.
    cells = table.assign(link=_links(links, len(table)))
    figure.add_trace(go.Scatter(
        x=cells["month"].map(month_labels), y=cells["seq"].map(names), mode="markers",
        marker={"symbol": "square", "size": 30, "color": "rgba(0,0,0,0)"}, showlegend=False,
        customdata=np.column_stack([
            cells["share_over"].map(lambda v: percent(v, digits=0)),
            cells["overrun_hours"].map(lambda hours: format_number(hours, digits=1)),
            cells["visits"], cells["seq"].map(full_names), cells["link"]])
        if len(cells) else None,
        hovertemplate="%{customdata[3]}<br>%{x}: %{customdata[0]} dari %{customdata[2]} "
                      "kunjungan melewati "
                      "Mutu Baku, lebih %{customdata[1]} jam kerja" + CLICK_HINT
                      + "<extra></extra>"))
    figure.update_layout(**{**LAYOUT, "margin": {"l": 10, "r": 10, "t": 10, "b": 10}},
                         # Fixed ranges: the markers must not pad the axes (on a phone the
                         # padding would take the cells' room).
                         xaxis={"range": [-0.5, len(months) - 0.5]},
                         yaxis={"range": [len(order) - 0.5, -0.5], "automargin": True},
                         height=90 + 34 * len(order))
    return figure


PARETO_SHARE_TICKS = [0, 0.25, 0.5, 0.75, 1]


def returns_pareto(table: pd.DataFrame, *, steps: pd.DataFrame,
                   links: Sequence[str] | None = None) -> go.Figure:
    """`steps`: seq and label of every step of the SOP."""
    labels = dict(zip(steps["seq"], steps["label"], strict=True))
    names = [step_name(labels[seq]) for seq in table["seq"]]
    figure = go.Figure(go.Bar(x=names, y=table["returns"], name="Pengembalian",
                              marker_color=OVER[1],
                              text=[format_number(n) for n in table["returns"]],
                              customdata=list(zip(table["returns"], table["decisions"],
                                                  _links(links, len(table)), strict=True)),
                              hovertemplate="%{x}: %{customdata[0]:,} pengembalian dari "
                                            "%{customdata[1]:,} keputusan" + CLICK_HINT
                                            + "<extra></extra>"))
    figure.add_trace(go.Scatter(x=names, y=table["cumulative"], name="Kumulatif",
                                yaxis="y2", mode="lines+markers", marker_color="black",
                                hovertemplate="%{x}: kumulatif %{y:.0%}<extra></extra>"))
    # The share's ticks stated: left to Plotly, they fell on the counts' gridlines, at shares
    # like 21% and 103% (a single decision step's 2,416 returns: 500 of them is 21%).
    return _with_legend(figure, yaxis={"title": "pengembalian", "tickformat": ",d"},
                        yaxis2={"overlaying": "y", "side": "right", "tickformat": ".0%",
                                "range": [0, 1.05], "tickmode": "array",
                                "tickvals": PARETO_SHARE_TICKS, "showgrid": False},
                        height=400)


def backlog(table: pd.DataFrame, *, links: dict[str, Sequence[str]] | None = None,
            names: Sequence[str] | None = None) -> go.Figure:
    """Stacked bars per Pelaksana (or per person: `names`); `links`: per SLA state, one per
    row."""
    names = list(names) if names is not None else [
        f"{role} · {unit}" for role, unit in zip(table["role"], table["unit"], strict=True)]
    figure = go.Figure()
    for state in ("overdue", "at_risk", "on_time", "no_target"):
        figure.add_trace(go.Bar(
            y=names, x=table[state], name=sla_label(state), orientation="h",
            marker_color=SLA[state][2],
            marker_pattern_shape={"overdue": "x", "at_risk": "/", "on_time": "",
                                  "no_target": "."}[state],
            customdata=list(zip(table[state], _links((links or {}).get(state), len(table)),
                                strict=True)),
            hovertemplate="%{y}: %{customdata[0]} tugas" + CLICK_HINT
                          + "<extra>%{fullData.name}</extra>"))
    return _with_legend(figure, barmode="stack",
                        yaxis={"autorange": "reversed", "automargin": True},
                        xaxis={"tickformat": "d", "rangemode": "tozero",
                               "dtick": max(1, int(table["total"].max()) // 8)},
                        height=170 + 32 * len(table))


# --- one case -----------------------------------------------------------------------------------


def _visit_state(row: pd.Series) -> tuple[str, str]:
    if row["is_open"]:
        return sla_label(row["sla_state"]), sla_color(row["sla_state"])
    if row["outcome"] == "closed":
        return "Ditutup (kasus batal)", "#8C8C8C"
    if not row["has_target"]:
        return sla_label("no_target"), sla_color("no_target")
    return (f"✓ {WITHIN[0]}", WITHIN[1]) if row["within_target"] else (f"✕ {OVER[0]}", OVER[1])


def date_ticks(first: datetime, last: datetime) -> tuple[list[datetime], list[str]]:
    """About six ticks between two instants, written the Indonesian way ("20 Nov" and a time
    for short spans, "20 Nov 2026" for long ones)."""
    span = max(last - first, timedelta(minutes=1))
    steps = [timedelta(hours=h) for h in (1, 2, 3, 6, 12)] + [
        timedelta(days=d) for d in (1, 2, 7, 14, 30, 61, 91, 182, 365)]
    step = next((s for s in steps if span / s <= 6), steps[-1])
    local = first.astimezone(WIB)
    if step < timedelta(days=1):
        start = local.replace(minute=0, second=0, microsecond=0)
    else:
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    ticks = [start + i * step for i in range(int(span / step) + 2)]
    if step < timedelta(days=1):
        text = [f"{t.day} {MONTHS_SHORT[t.month - 1]}<br>{t:%H.%M}" for t in ticks]
    else:
        text = [format_day(t.date()) for t in ticks]
    return ticks, text


def case_timeline(visits: pd.DataFrame) -> go.Figure:
    """Each visit as a bar from available to ended (or now), coloured by its state; the
    instant its target fell due as a black tick."""
    visits = visits.assign(
        name=[f"{label}. {short(activity, 41)}" + (f" (ke-{p})" if p > 1 else "")
              for label, activity, p in zip(visits["label"], visits["activity"],
                                            visits["pass_no"], strict=True)])
    states = visits.apply(_visit_state, axis=1)
    figure = go.Figure()
    start = visits["available_at"].dt.tz_convert(WIB)
    end = visits["ended_at"].dt.tz_convert(WIB)
    for (label, color), rows in visits.groupby(states, sort=False):
        figure.add_trace(go.Bar(
            y=rows["name"], x=(end[rows.index] - start[rows.index]).dt.total_seconds() * 1000,
            base=start[rows.index], orientation="h", marker_color=color, name=label,
            customdata=list(zip(start[rows.index].map(format_wib),
                                rows["duration"].map(format_minutes),
                                rows["target"].map(lambda t: format_minutes(t)
                                                   if pd.notna(t) else "tanpa target"),
                                rows["outcome"].map(lambda o: OUTCOME_LABELS.get(o, o)),
                                strict=True)),
            hovertemplate="%{y}<br>mulai %{customdata[0]}<br>Waktu kerja %{customdata[1]}"
                          " (target %{customdata[2]})<br>%{customdata[3]}<extra></extra>"))
    due = visits[visits["due_at"].notna()]
    figure.add_trace(go.Scatter(
        y=due["name"], x=due["due_at"].dt.tz_convert(WIB), mode="markers",
        marker={"symbol": "line-ns", "size": 18, "line": {"width": 3, "color": "black"}},
        name="Batas Mutu Baku", customdata=due["due_at"].map(format_wib),
        hovertemplate="Batas: %{customdata}<extra></extra>"))
    instants = pd.concat([start, end, due["due_at"].dt.tz_convert(WIB)]).dropna()
    ticks, text = date_ticks(instants.min().to_pydatetime(warn=False),
                             instants.max().to_pydatetime(warn=False))
    return _with_legend(
        figure, barmode="overlay", height=130 + 34 * len(visits),
        xaxis={"type": "date", "title": "Waktu (WIB)", "tickvals": ticks, "ticktext": text},
        yaxis={"autorange": "reversed", "title": None, "categoryorder": "array",
               "categoryarray": list(dict.fromkeys(visits["name"])), "automargin": True})
