"""Opening the rows behind a figure: a link under a tile, a click on a chart's point, a row of
a ranking. All lead to the Kasus page with the drill in its URL (services.drilldown)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from services.drilldown import Drill
from ui.tables import fitted

CASE_PAGE = "pages/kasus.py"


def link(drill: Drill, *, label: str, container: DeltaGenerator | None = None) -> None:
    (container or st).page_link(CASE_PAGE, label=label, icon=":material/list:",
                                query_params=drill.params())


def open_rows(drill_link: str) -> None:
    st.switch_page(CASE_PAGE, query_params=dict(parse_qsl(drill_link)))


def link_of_point(point: dict[str, Any]) -> str | None:
    """The drill link a chart point carries (the last item of its customdata), if any."""
    data = point.get("customdata")
    values = data if isinstance(data, list) else [data]
    found = [value for value in values if isinstance(value, str) and value.startswith("lihat=")]
    return found[-1] if found else None


def chart(figure: go.Figure, *, title: str, key: str,
          container: DeltaGenerator | None = None) -> None:
    """A chart, under its title, whose points open their rows when clicked."""
    place = container or st
    place.markdown(f"**{title}**")
    event = place.plotly_chart(figure, width="stretch", key=key, on_select="rerun",
                               selection_mode="points")
    for point in event.selection.points if event else []:
        target = link_of_point(point)
        if target:
            st.session_state.pop(key, None)  # back on this page, nothing stays selected
            open_rows(target)


def table(frame: pd.DataFrame, *, links: list[str], key: str, **options: Any) -> None:
    """A grid whose rows open what `links` says (one query string per row: a drill, or
    "kasus=12" for a case)."""
    options["column_config"] = fitted(frame, options.get("column_config"))
    event = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun",
                         selection_mode="single-row", key=key, **options)
    rows = event.selection.rows if event else []
    if rows:
        st.session_state.pop(key, None)
        open_rows(links[rows[0]])


def case_table(listing: pd.DataFrame, *, key: str, keep: dict[str, str] | None = None) -> None:
    """A services.drilldown.listing whose rows open their case (`keep`: query parameters the
    case page keeps, for its way back)."""
    st.caption("Pilih satu baris untuk membuka kasusnya.")
    table(listing.drop(columns="case_id"), key=key, links=[
        urlencode({**(keep or {}), "kasus": str(int(case_id))})
        for case_id in listing["case_id"]])


def hint() -> None:
    st.caption("Klik batang, atau pilih satu baris, untuk membuka tugas di baliknya.")
