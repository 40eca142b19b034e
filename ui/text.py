"""Showing stored text safely where Streamlit renders Markdown."""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def markdown_escape(text: str) -> str:
    """Text that renders exactly as written: no emphasis, links, lists or HTML."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def markdown_lines(text: str) -> str:
    """Escaped text, each of its lines on its own line."""
    return "  \n".join(markdown_escape(line) for line in text.split("\n"))
