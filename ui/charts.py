"""Plotly figures of the dashboards. One colour meaning everywhere (ui.format), Indonesian
labels, decimal comma."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from services.formatting import format_minutes
from services.formatting import format_percent as percent
from ui.format import OVER, SLA, WITHIN, sla_label

LAYOUT = {"separators": ",.", "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
          "font": {"family": "Source Sans Pro, sans-serif", "size": 13},
          "legend": {"orientation": "h", "y": -0.2}}


def short(text: str, length: int = 38) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def compliance_by_sop(table: pd.DataFrame, *, target: float) -> go.Figure:
    shown = table.dropna(subset=["compliance"]).iloc[::-1]  # weakest at the top
    meets = shown["compliance"] >= target
    figure = go.Figure(go.Bar(
        x=shown["compliance"], y=[short(n, 32) for n in shown["name"]], orientation="h",
        marker_color=np.where(meets, WITHIN[1], OVER[1]),
        text=[f"{'✓' if ok else '✕'} {percent(v)}" for v, ok in zip(
            shown["compliance"], meets, strict=True)],
        textposition="auto", customdata=shown[["within", "with_target"]],
        hovertemplate="%{y}<br>%{customdata[0]} dari %{customdata[1]} kunjungan dalam Mutu "
                      "Baku<extra></extra>", showlegend=False))
    figure.add_vline(x=target, line={"color": "black", "dash": "dash", "width": 2},
                     annotation_text=f"Target {percent(target)}", annotation_position="top")
    figure.update_layout(**LAYOUT, title="Kepatuhan Mutu Baku per SOP",
                         xaxis={"tickformat": ".0%", "range": [0, 1.05]},
                         height=90 + 48 * max(len(shown), 1))
    return figure


def compliance_by_month(table: pd.DataFrame, *, target: float, labels: list[str]) -> go.Figure:
    figure = go.Figure()
    symbols = ["circle", "square", "diamond", "triangle-up", "x", "star", "cross"]
    for index, (name, rows) in enumerate(table.groupby("name", sort=True)):
        figure.add_trace(go.Scatter(
            x=rows["label"], y=rows["compliance"], name=short(name, 30), mode="lines+markers",
            marker={"symbol": symbols[index % len(symbols)], "size": 8},
            customdata=rows["visits"],
            hovertemplate="%{x}: %{y:.0%} dari %{customdata} kunjungan<extra>%{fullData.name}"
                          "</extra>"))
    figure.add_hline(y=target, line={"color": "black", "dash": "dash", "width": 2})
    figure.update_layout(**LAYOUT, title="Kepatuhan per bulan",
                         yaxis={"tickformat": ".0%", "range": [0, 1.05]},
                         xaxis={"categoryorder": "array", "categoryarray": labels}, height=380)
    return figure


def step_name(label: str) -> str:
    """A step on an axis: its label ("No. 9a"), unique within the SOP."""
    return f"No. {label}"


def step_durations(table: pd.DataFrame) -> go.Figure:
    """Box per step from precomputed statistics (p5 and p95 as whiskers) and the target."""
    names = {seq: step_name(label) for seq, label in zip(table["seq"], table["label"],
                                                          strict=True)}
    shown = table.dropna(subset=["median"])
    figure = go.Figure(go.Box(
        x=shown["seq"].map(names), q1=shown["q1"], median=shown["median"], q3=shown["q3"],
        lowerfence=shown["p5"], upperfence=shown["p95"], mean=shown["mean"],
        name="Waktu kerja (p5–p95)", marker_color="#0072B2", boxmean=True,
        text=shown["seq"].map(names), hoverinfo="y+text"))
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
    figure.update_layout(**LAYOUT, title="Waktu kerja per langkah dibanding Mutu Baku",
                         yaxis=axis, height=430)
    return figure


# Readable ticks for a log axis of working minutes (a working day is 450 minutes).
LOG_TICKS = [(1, "1 mnt"), (5, "5 mnt"), (15, "15 mnt"), (60, "1 jam"), (240, "4 jam"),
             (450, "1 hari"), (1350, "3 hari"), (2250, "5 hari"), (9000, "20 hari")]


def overrun_heatmap(table: pd.DataFrame, *, steps: pd.DataFrame,
                    months: list[tuple[str, str]]) -> go.Figure:
    """`steps`: seq and label of every step of the SOP (rows of the map, in order)."""
    names = {seq: short(f"{label}. {activity}", 34) for seq, label, activity in zip(
        steps["seq"], steps["label"], steps["activity"], strict=True)}
    order = sorted(names)
    grid = table.pivot(index="seq", columns="month", values="share_over").reindex(
        index=order, columns=[key for key, _ in months])
    hours = table.pivot(index="seq", columns="month", values="overrun_hours").reindex(
        index=order, columns=[key for key, _ in months])
    figure = go.Figure(go.Heatmap(
        z=grid.to_numpy(), x=[label for _, label in months],
        y=[names[s] for s in order], colorscale="Oranges", zmin=0, zmax=1,
        text=[[("" if np.isnan(v) else f"{v:.0%}") for v in row] for row in grid.to_numpy()],
        texttemplate="%{text}", customdata=np.nan_to_num(hours.to_numpy()),
        hovertemplate="%{y}<br>%{x}: %{z:.0%} melewati Mutu Baku, lebih %{customdata:.1f} jam "
                      "kerja<extra></extra>", colorbar={"title": "lewat", "tickformat": ".0%"}))
    figure.update_layout(**LAYOUT, title="Bagian kunjungan yang melewati Mutu Baku, per bulan",
                         yaxis={"autorange": "reversed"}, height=120 + 34 * len(order))
    return figure


def returns_pareto(table: pd.DataFrame, *, steps: pd.DataFrame) -> go.Figure:
    """`steps`: seq and label of every step of the SOP."""
    labels = dict(zip(steps["seq"], steps["label"], strict=True))
    names = [step_name(labels[seq]) for seq in table["seq"]]
    figure = go.Figure(go.Bar(x=names, y=table["returns"], name="Pengembalian",
                              marker_color=OVER[1], text=table["returns"],
                              customdata=table["decisions"],
                              hovertemplate="%{x}: %{y} pengembalian dari %{customdata} "
                                            "keputusan<extra></extra>"))
    figure.add_trace(go.Scatter(x=names, y=table["cumulative"], name="Kumulatif",
                                yaxis="y2", mode="lines+markers", marker_color="black"))
    figure.update_layout(**LAYOUT, title="Pareto pengembalian per langkah keputusan",
                         yaxis={"title": "pengembalian"},
                         yaxis2={"overlaying": "y", "side": "right", "tickformat": ".0%",
                                 "range": [0, 1.05]}, height=380)
    return figure


def backlog(table: pd.DataFrame) -> go.Figure:
    names = [f"{role} · {unit}" for role, unit in zip(table["role"], table["unit"], strict=True)]
    figure = go.Figure()
    for state in ("overdue", "at_risk", "on_time", "no_target"):
        figure.add_trace(go.Bar(y=names, x=table[state], name=sla_label(state), orientation="h",
                                marker_color=SLA[state][2],
                                marker_pattern_shape={"overdue": "x", "at_risk": "/",
                                                      "on_time": "", "no_target": "."}[state]))
    figure.update_layout(**LAYOUT, barmode="stack", title="Tugas tertunda per Pelaksana",
                         yaxis={"autorange": "reversed"},
                         xaxis={"tickformat": "d", "rangemode": "tozero",
                                "dtick": max(1, int(table["total"].max()) // 8)},
                         height=150 + 32 * len(table))
    return figure

