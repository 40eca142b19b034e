"""Data grids that fit the page: columns sized to their content and, together, to the width of
a 1366 px screen beside the sidebar (a cut text shows whole on hover); an empty grid is a line
of text instead of Streamlit's own English "empty"."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

BUDGET_PIXELS = 840  # a grid's columns on a 1366 px screen, beside the sidebar
PIXELS_PER_CHARACTER = 7.2
NARROWEST, WIDEST, SHRINK_FLOOR = 48, 260, 90
CONFIGURED_PIXELS = 150  # a column the page configured itself (a progress bar)


def _natural_width(name: str, column: pd.Series) -> float:
    longest = max([len(str(name)), *column.head(200).astype(str).str.len().tolist()])
    return float(np.clip(longest * PIXELS_PER_CHARACTER + 24, NARROWEST, WIDEST))


def fitted(frame: pd.DataFrame, column_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Column widths that keep `frame` within BUDGET_PIXELS, narrowing the widest columns
    first (never below SHRINK_FLOOR); columns in `column_config` keep their settings."""
    config = dict(column_config or {})
    free = [name for name in frame.columns if name not in config]
    widths = pd.Series({name: _natural_width(name, frame[name]) for name in free}, dtype=float)
    budget = BUDGET_PIXELS - CONFIGURED_PIXELS * (len(frame.columns) - len(free))
    wide = widths > SHRINK_FLOOR
    excess = widths.sum() - budget
    if excess > 0 and wide.any():
        room = (widths[wide] - SHRINK_FLOOR).sum()
        widths[wide] -= (widths[wide] - SHRINK_FLOOR) * min(1.0, excess / room)
    for name, pixels in widths.items():
        config[str(name)] = st.column_config.Column(width=int(pixels))
    return config


def table(frame: pd.DataFrame, *, empty: str, **options: Any) -> Any:
    """`frame` as a data grid that fits, or `empty` as a line of text when it has no row."""
    if frame.empty:
        st.caption(empty)
        return None
    options["column_config"] = fitted(frame, options.get("column_config"))
    return st.dataframe(frame, **options)
