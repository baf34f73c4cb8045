"""Tables on screen, written the Vietnamese way: :func:`show` is ``st.dataframe`` with vi-VN numbers
and dates, a dash for a missing value and a Vietnamese sentence instead of an empty grid.

Streamlit draws a table in a canvas from the values and the column configuration:

- whole numbers get :data:`formats.TABLE_INT` ("12.345": sprintf-js's custom thousands separator);
  years, months and codes are left plain;
- decimals keep their numeric value (the column still sorts as numbers) and show the display
  values of a pandas Styler with a decimal comma (Streamlit uses a Styler's display values when
  the column configuration gives no format);
- dates and times get ``DD/MM/YYYY`` and ``DD/MM/YYYY HH:mm``;
- a missing value shows "–" (``placeholder``), not "None";
- a table without rows is not drawn (Streamlit writes "empty" across it): a caption says so.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

import pandas as pd
import pyarrow as pa
import streamlit as st
from pandas.io.formats.style import Styler

from xkld_geo.text import formats, labels

PLAIN_NAMES = re.compile(r"^(Năm|Tháng|Mã|Số phương án|Lần nhập|Phiên bản|Kỳ|year|month|code)", re.IGNORECASE)
"""Whole-number columns written without a thousands separator: years, months, codes, numbers of things."""
PRECISION = re.compile(r"%[-+ ']*\d*\.(\d+)f")
EMPTY = "Không có dòng nào."


def _frame(data: Any) -> pd.DataFrame:
    if isinstance(data, Styler):
        return data.data
    if isinstance(data, pa.Table):
        return data.slice(0, 0).to_pandas()
    return data


def _kinds(data: Any) -> dict[str, str]:
    """Column → 'int', 'float', 'date', 'datetime' (others left out)."""
    out: dict[str, str] = {}
    if isinstance(data, pa.Table):
        for f in data.schema:
            t = f.type
            kind = ("int" if pa.types.is_integer(t) else "float" if pa.types.is_floating(t) else
                    "datetime" if pa.types.is_timestamp(t) else "date" if pa.types.is_date(t) else None)
            if kind:
                out[f.name] = kind
        return out
    frame = _frame(data)
    for name in frame.columns:
        dtype = frame[name].dtype
        kind = dtype.kind
        if kind in "iu" or str(dtype) in ("Int64", "Int32", "Int16", "Int8"):
            out[str(name)] = "int"
        elif kind == "f" or str(dtype) in ("Float64", "Float32"):
            out[str(name)] = "float"
        elif kind == "M":
            out[str(name)] = "datetime"
    return out


def _label(given: Any) -> dict[str, Any]:
    return {"label": given["label"]} if isinstance(given, dict) and given.get("label") else {}


def number_config(data: Any, given: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, int]]:
    """(column configuration, decimals of each decimal column) for ``data``: whole numbers and
    dates formatted, decimals left to the display values (:func:`decimal_comma`). A column the
    caller configured keeps its configuration (a decimal format given as printf sets the decimals)."""
    config: dict[str, Any] = dict(given or {})
    decimals: dict[str, int] = {}
    for name, kind in _kinds(data).items():
        mine = config.get(name)
        fmt = mine.get("type_config", {}).get("format") if isinstance(mine, dict) else None
        if kind == "float" and fmt and fmt.endswith("d"):   # counts stored as decimals: shown whole
            config[name] = st.column_config.NumberColumn(**{**_label(mine), "format": formats.TABLE_INT})
        elif kind == "float":
            found = PRECISION.match(fmt or "")
            decimals[name] = int(found.group(1)) if found else 1
            if mine is None or fmt is not None:   # the display values, not printf, write the decimals
                config[name] = st.column_config.NumberColumn(**_label(mine))
        elif mine is not None:
            continue
        elif kind == "int" and not PLAIN_NAMES.match(name):
            config[name] = st.column_config.NumberColumn(format=formats.TABLE_INT)
        elif kind == "datetime":
            config[name] = st.column_config.DatetimeColumn(format=formats.TABLE_DATETIME)
        elif kind == "date":
            config[name] = st.column_config.DateColumn(format=formats.TABLE_DATE)
    return config, decimals


def decimal_comma(data: Any, decimals: Mapping[str, int]) -> Any:
    """``data`` as a Styler whose decimal columns display "1.254,5" (values unchanged)."""
    if not decimals:
        return data
    styler = data if isinstance(data, Styler) else (data.to_pandas() if isinstance(data, pa.Table) else data).style
    for name, places in decimals.items():
        styler = styler.format(lambda v, p=places: "" if pd.isna(v) else formats.fmt_dec(v, p), subset=[name])
    return styler


def rows(data: Any) -> int:
    if isinstance(data, pa.Table):
        return data.num_rows
    return len(_frame(data))


def edit(data: pd.DataFrame, *, column_config: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
    """``st.data_editor(data, ...)`` whose headers read in Vietnamese (:data:`labels.COLUMNS`; the
    values keep their stored column names) and whose whole numbers are written vi-VN."""
    config: dict[str, Any] = dict(column_config or {})
    for name in data.columns:
        label = labels.COLUMNS.get(str(name))
        given = config.get(name)
        if label and given is None:
            config[name] = st.column_config.Column(label)
        elif label and isinstance(given, dict) and not given.get("label"):
            config[name] = {**given, "label": label}
    for name, kind in _kinds(data).items():
        given = config.get(name)
        fmt = given.get("type_config", {}).get("format") if isinstance(given, dict) else None
        if kind in ("int", "float") and fmt is None and not PLAIN_NAMES.match(name) and \
                (given is None or isinstance(given, dict) and given.get("type_config", {}).get("type") in (None, "number")):
            base = given if isinstance(given, dict) else {}
            config[name] = {**base, "type_config": {**base.get("type_config", {}), "type": "number",
                                                    "format": formats.TABLE_INT if kind == "int" else None}}
    return st.data_editor(data, column_config=config, **kwargs)


def show(data: Any, *, column_config: Mapping[str, Any] | None = None, empty: str = EMPTY,
         **kwargs: Any) -> Any:
    """``st.dataframe(data, ...)`` with the vi-VN formats above; a table without rows is a caption."""
    if data is None or rows(data) == 0:
        st.caption(empty)
        return None
    config, decimals = number_config(data, column_config)
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("placeholder", "–")
    return st.dataframe(decimal_comma(data, decimals), column_config=config, **kwargs)
