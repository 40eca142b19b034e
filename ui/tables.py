"""Data grids that fit the page: long text columns get a bounded width (the full text shows on
hover), and an empty grid is a line of text instead of Streamlit's own English "empty"."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

# A text column wider than this many characters is cut to LONG_TEXT_PIXELS on screen.
LONG_TEXT_CHARACTERS = 28
LONG_TEXT_PIXELS = 220


def fitted(frame: pd.DataFrame, column_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Column settings that keep a grid within a 1366 px screen: every long text column gets
    a bounded width, unless `column_config` already says how to show it."""
    config = dict(column_config or {})
    for name in frame.columns:
        column = frame[name]
        if name in config or frame.empty or not (
                pd.api.types.is_string_dtype(column) or column.dtype == object):
            continue
        longest = column.astype(str).str.len().max()
        if longest > LONG_TEXT_CHARACTERS:
            config[name] = st.column_config.TextColumn(width=LONG_TEXT_PIXELS)
    return config


def table(frame: pd.DataFrame, *, empty: str, **options: Any) -> Any:
    """`frame` as a data grid that fits, or `empty` as a line of text when it has no row."""
    if frame.empty:
        st.caption(empty)
        return None
    options["column_config"] = fitted(frame, options.get("column_config"))
    return st.dataframe(frame, **options)
