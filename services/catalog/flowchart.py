"""The SOP as a swimlane flowchart in DOT (rendered by st.graphviz_chart in the browser).

One column per Pelaksana, steps top to bottom in sequence, decision steps as diamonds with a
"Y" arrow to the next step and a dashed "T" arrow back to the return target, as in the
PermenPAN-RB 35/2012 flowchart.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping, Sequence

from services.catalog.definition import SopDef

_LANE_FILL = ("#f4f7fb", "#fbf7f1")
_WRAP = 26


def _quote(text: str) -> str:
    """A DOT string literal (user text never becomes DOT syntax); newlines become \\n."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _wrapped(text: str, width: int = _WRAP, max_lines: int = 5) -> str:
    lines = textwrap.wrap(text, width=width) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1] + "…"
    return "\n".join(lines)


def swimlane_dot(sop: SopDef, *, annotations: Mapping[int, str] | None = None) -> str:
    """DOT source; `annotations` adds a line per step (e.g. live counts from the metrics)."""
    annotations = annotations or {}
    out = [
        "digraph sop {",
        '  graph [rankdir=TB, newrank=true, nodesep=0.35, ranksep=0.32, fontname="Helvetica",'
        ' fontsize=12, splines=spline];',
        '  node [fontname="Helvetica", fontsize=10, shape=box, style="rounded,filled",'
        ' fillcolor="white", color="#4a5a6a", margin="0.12,0.06"];',
        '  edge [color="#4a5a6a", arrowsize=0.7, fontname="Helvetica", fontsize=10];',
    ]
    first_role, last_role = sop.steps[0].role, sop.steps[-1].role
    for index, lane in enumerate(sop.lanes):
        out.append(f"  subgraph cluster_lane_{index} {{")
        out.append(f'    label=""; style="filled"; color="#c9d3dd"; fillcolor="{_LANE_FILL[index % 2]}";')
        out.append(f'    lane_{index} [label={_quote(lane)}, shape=plaintext, style="",'
                   ' fontsize=12, fontname="Helvetica-Bold"];')
        if lane == first_role:
            out.append('    start [label="Mulai", shape=ellipse, fillcolor="#e8f1e8"];')
        for step in sop.steps:
            if step.role != lane:
                continue
            out.append(f"    {_step_node(step.seq, sop, annotations.get(step.seq))}")
        if lane == last_role:
            out.append('    finish [label="Selesai", shape=ellipse, fillcolor="#e8f1e8"];')
        out.append(f'    lane_end_{index} [label="", shape=point, style=invis];')
        out.append("  }")
    # Lane titles share the top row, in lane order; lane ends share the bottom row, so every
    # lane spans the whole height like the columns of the printed form.
    titles = "; ".join(f"lane_{i}" for i in range(len(sop.lanes)))
    ends = "; ".join(f"lane_end_{i}" for i in range(len(sop.lanes)))
    out.append(f"  {{ rank=min; {titles}; }}")
    out.append(f"  {{ rank=max; {ends}; }}")
    for i in range(len(sop.lanes) - 1):
        out.append(f"  lane_{i} -> lane_{i + 1} [style=invis, weight=100];")
        out.append(f"  lane_end_{i} -> lane_end_{i + 1} [style=invis, weight=100];")
    for index, lane in enumerate(sop.lanes):
        lane_steps = [f"s{s.seq}" for s in sop.steps if s.role == lane]
        if lane == first_role:
            lane_steps.insert(0, "start")
        if lane == last_role:
            lane_steps.append("finish")
        chain = [f"lane_{index}", *lane_steps, f"lane_end_{index}"]
        out.append(f"  {' -> '.join(chain)} [style=invis];")
    out.append("  start -> s1;")
    for step in sop.steps:
        following = "finish" if step.seq == len(sop.steps) else f"s{step.seq + 1}"
        if step.decision is None:
            out.append(f"  s{step.seq} -> {following};")
        else:
            out.append(f'  s{step.seq} -> {following} [xlabel="Y", fontcolor="#1b6e3a"];')
            out.append(
                f'  s{step.seq} -> s{step.decision.return_to} [xlabel="T", style=dashed,'
                ' color="#b03a2e", fontcolor="#b03a2e", constraint=false];'
            )
    out.append("}")
    return "\n".join(out)


def _step_node(seq: int, sop: SopDef, annotation: str | None) -> str:
    step = sop.step(seq)
    lines = [f"{sop.label(seq)}. {_wrapped(step.activity)}"]
    if step.waktu:
        lines.append(f"[{step.waktu}]")
    if step.multi_unit:
        lines.append("(setiap unit)")
    if annotation:
        lines.append(annotation)
    label = _quote("\n".join(lines))
    tooltip = _quote(step.activity)
    if step.decision is not None:
        short = _quote(f"{sop.label(seq)}. {_wrapped(step.activity, width=18, max_lines=3)}")
        return (f"s{seq} [label={short}, tooltip={tooltip}, shape=diamond, style=filled,"
                ' fillcolor="#fff4d6", fontsize=9];')
    return f"s{seq} [label={label}, tooltip={tooltip}];"


def process_map_dot(sop: SopDef, *, nodes: Sequence[tuple[int, int, float | None, int]],
                    arrows: Sequence[tuple[int, int, int, float | None]],
                    describe: Callable[[float | None], str]) -> str:
    """The SOP as it actually ran: steps with their visit count and median working time,
    arrows weighted by how often one step followed another (0 = the start), return loops
    (arrows going back) dashed. `nodes`: (seq, visits, median, open); `arrows`: (from, to,
    count, median working time of the visit it led to)."""
    stats = {seq: (visits, median, open_) for seq, visits, median, open_ in nodes}
    heaviest = max((count for _, _, count, _ in arrows), default=1) or 1
    out = [
        "digraph proses {",
        '  graph [rankdir=TB, nodesep=0.3, ranksep=0.35, fontname="Helvetica"];',
        '  node [fontname="Helvetica", fontsize=10, shape=box, style="rounded,filled",'
        ' fillcolor="white", color="#4a5a6a"];',
        '  edge [fontname="Helvetica", fontsize=9, color="#4a5a6a"];',
        '  s0 [label="Mulai", shape=ellipse, fillcolor="#e8f1e8"];',
    ]
    labels = sop.labels()
    for step in sop.steps:
        visits, median, open_ = stats.get(step.seq, (0, None, 0))
        lines = [f"{labels[step.seq]}. {_wrapped(step.activity, width=30, max_lines=2)}",
                 f"{step.role} · {visits} kunjungan · median {describe(median)}"]
        if open_:
            lines.append(f"{open_} berjalan")
        shape = "diamond" if step.decision else "box"
        fill = "#fff4d6" if step.decision else "white"
        out.append(f"  s{step.seq} [label={_quote(chr(10).join(lines))}, shape={shape},"
                   f' fillcolor="{fill}"];')
    for source, target, count, median in arrows:
        width = 1 + 5 * count / heaviest
        # Graphviz grows the arrowhead with the pen and sets the label against the line: a
        # head kept small and a label set off from a thick line stay clear of each other.
        label = _quote(f"{' ' * round(width)}{count}× · {describe(median)}")
        pen = f"penwidth={width:.1f}, arrowsize={max(0.5, 1.6 / width):.2f}"
        if source and target <= source:
            out.append(f'  s{source} -> s{target} [label={label}, {pen},'
                       ' style=dashed, color="#D55E00", fontcolor="#D55E00", constraint=false];')
        else:
            out.append(f"  s{source} -> s{target} [label={label}, {pen}];")
    out.append("}")
    return "\n".join(out)
