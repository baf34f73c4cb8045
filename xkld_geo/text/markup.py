"""Escaping text for where it is shown: HTML (map tooltips, legends, captions), Markdown (Streamlit
messages and labels) and spreadsheet cells (formulas).

Every string a user, a URL or a file can influence (unit, market and company names, notices,
display names, query parameters, header cells) passes through one of these before it reaches a
renderer, so that it is shown as the text it is and never runs as a script, a link or a formula.
No Streamlit here: the map builders and the exporters use it too.
"""
from __future__ import annotations

import html
import re
from typing import Any

_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>#~$|&]|(?<!\w)_|_(?!\w))")
"""Characters that CommonMark, GitHub-flavoured Markdown or Streamlit's extensions (``:red[...]``,
``$latex$``, ``<autolink>``, raw HTML, emphasis, tables) read as markup anywhere
in a line (``_`` only at a word's edge: inside a word, as in ``xkld_geo``, it is never emphasis);
CommonMark lets any ASCII punctuation be backslash-escaped."""
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(?=://)|(?<=www)(?=\.)|(?=@)")
"""Where GFM would turn bare text into a link (``scheme://``, ``www.``, ``name@domain``). Streamlit
links these even when the punctuation is backslash-escaped, so an invisible word joiner
(:data:`JOINER`) is put there: the text reads the same and is no longer a link."""
JOINER = "\u2060"

_LINE_START = re.compile(r"^(\s*)(?:([-+=>])|(\d+)([.)]))")
"""Block markers that only count at the start of a line: lists, quotes, setext headings."""

XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False}
"""xlsxwriter options for every exported workbook: strings are written as strings, never as
formulas (``=``, ``+``, ``-``, ``@``: spreadsheet injection) nor as hyperlinks."""

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet program read a cell as a formula (OWASP CSV injection)."""


def check_length(text: str | None, label: str, limit: int | None = None) -> str:
    """``text`` unchanged, or a :class:`QueryError` naming the field, its length and the limit
    (the ``max_text_chars`` setting unless ``limit`` is given): the server bounds free text itself,
    whatever limit the browser's widget showed."""
    from xkld_geo.errors import QueryError
    from xkld_geo.settings import current

    limit = current().max_text_chars if limit is None else limit
    text = text or ""
    if len(text) > limit:
        length, most = (f"{n:,}".replace(",", ".") for n in (len(text), limit))  # Vietnamese thousands
        raise QueryError(f"{label}: dài {length} ký tự; tối đa {most} ký tự.",
                         field=label, value=len(text), allowed=f"≤ {limit} ký tự")
    return text


def html_text(value: Any) -> str:
    """``value`` as text safe inside HTML, attribute values included (``<``, ``>``, ``&``, quotes)."""
    return html.escape("" if value is None else str(value), quote=True)


def markdown_text(value: Any) -> str:
    """``value`` as Markdown that shows exactly this text: no link, image, emphasis, heading,
    colour directive, emoji code, formula nor HTML. Line breaks stay line breaks."""
    text = "" if value is None else str(value)
    out = []
    for line in re.split(r"\r\n|\r|\n", text):
        line = _MARKDOWN_SPECIAL.sub(r"\\\1", line)
        line = _AUTOLINK.sub(JOINER, line)
        out.append(_LINE_START.sub(lambda m: m.group(1) + (f"\\{m.group(2)}" if m.group(2)
                                                           else f"{m.group(3)}\\{m.group(4)}"), line))
    return "  \n".join(out)


def cell_text(value: Any) -> Any:
    """A spreadsheet cell value that is never read as a formula: text starting with ``=``, ``+``,
    ``-``, ``@`` (or a tab / carriage return) gets a leading apostrophe; other values pass through."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
