"""Streamlit glue shared by every page: connection, caching, errors, labels, common widgets.

This is the only module of the library that imports streamlit; pages call it to read inputs and
render, and call the rest of ``xkld_geo`` for everything else.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, TypeVar

import duckdb
import streamlit as st
from streamlit_folium import st_folium

from xkld_geo import DEMO_LABEL, db, metrics, queries
from xkld_geo.errors import XkldError
from xkld_geo.settings import Settings, load_settings

log = logging.getLogger("xkld_geo.ui")
T = TypeVar("T")

PAGE_CSS = """
<style>
[data-testid="stMetricValue"] { font-size: 2.1rem; }
.xkld-demo-badge { background:#fff3cd; color:#664d03; border:1px solid #e0c36a; border-radius:6px;
  padding:2px 10px; font-weight:600; display:inline-block; }
</style>
"""


def settings() -> Settings:
    """Settings resolved once per session (environment, then ``st.secrets``, then defaults)."""
    if "_xkld_settings" not in st.session_state:
        st.session_state["_xkld_settings"] = load_settings()
    return st.session_state["_xkld_settings"]


def connection() -> duckdb.DuckDBPyConnection:
    """A cursor on the shared DuckDB connection of this process."""
    return db.connect(settings(), read_only=True)


def setup_page(title: str) -> None:
    """Page config, the shared CSS, and the sidebar caption."""
    st.set_page_config(page_title=f"{title} · XKLĐ-Geo", page_icon="🗺️", layout="wide")
    st.markdown(PAGE_CSS, unsafe_allow_html=True)


def guarded(render: Callable[[], T]) -> T | None:
    """Run a page body; a project error is shown once with ``st.error``, never as a traceback."""
    try:
        return render()
    except XkldError as exc:
        log.warning("page error: %s %s", exc.message, exc.details)
        st.error(exc.message)
        return None


def demo_badge(is_demo: bool) -> None:
    """The 'Dữ liệu minh họa' label wherever demo figures are shown."""
    if is_demo:
        st.markdown(f"<span class='xkld-demo-badge' data-testid='demo-badge'>{DEMO_LABEL}</span> "
                    "Số liệu do bộ sinh dữ liệu tạo ra, hiệu chỉnh theo số liệu quốc gia đã công bố; "
                    "không phải số liệu thật của xã.", unsafe_allow_html=True)


def headline(h: metrics.Headline, unit_label: str) -> None:
    """The headline numbers in large type."""
    cols = st.columns(4)
    cols[0].metric("Chỉ tiêu", metrics.fmt_int(h.quota))
    cols[1].metric("Đã xuất cảnh", metrics.fmt_int(h.departures))
    cols[2].metric("Tỷ lệ hoàn thành", metrics.fmt_pct(h.attainment_pct))
    cols[3].metric(f"{unit_label} dưới 50%", f"{h.units_below_50}/{h.units}")


def _from_query(name: str, options: list[Any], parse: Callable[[str], Any]) -> int:
    """Index of the option named by the URL query parameter ``name``, else 0.

    A value that is not one of the options is ignored with a warning, so a mistyped or hostile
    bookmark opens the default view instead of failing.
    """
    raw = st.query_params.get(name)
    if raw is None:
        return 0
    try:
        value = parse(raw)
    except (TypeError, ValueError):
        value = object()
    if value in options:
        return options.index(value)
    st.warning(f"Tham số '{name}' trong địa chỉ không hợp lệ ({str(raw)[:40]}); dùng mặc định.")
    return 0


def _to_query(name: str, value: Any) -> None:
    """Mirror a selection into the URL so the view can be bookmarked."""
    if value is None:
        if name in st.query_params:
            del st.query_params[name]
    elif st.query_params.get(name) != str(value):
        st.query_params[name] = str(value)


def year_select(key: str = "year") -> int:
    """Year selector over the years that have quotas (URL parameter ``year``)."""
    years = queries.years(connection())
    if not years:
        raise XkldError("Cơ sở dữ liệu chưa có chỉ tiêu nào. Hãy chạy: python -m xkld_geo build")
    index = _from_query("year", years, int) if key not in st.session_state else 0
    year = int(st.selectbox("Năm", years, index=index, key=key))
    _to_query("year", year)
    return year


def province_select(key: str = "province") -> str | None:
    """Province selector, first option the whole country (URL parameter ``unit``)."""
    provinces = queries.provinces(connection())
    options: list[str | None] = [None] + list(provinces["code"])
    names = dict(zip(provinces["code"], provinces["name"]))
    index = _from_query("unit", options, str) if key not in st.session_state else 0
    code = st.selectbox("Tỉnh/thành", options, index=index, key=key,
                        format_func=lambda c: "Toàn quốc (34 tỉnh/thành)" if c is None else names[c])
    _to_query("unit", code)
    return code


def show_map(fmap: Any, key: str, height: int = 620) -> dict[str, Any] | None:
    """Render a folium map; only clicks on shapes are sent back (no rerun on pan or zoom)."""
    return st_folium(fmap, key=key, height=height, use_container_width=True,
                     returned_objects=["last_active_drawing"])



def sidebar() -> Any:
    """The sidebar container, for ``with ui.sidebar():``."""
    return st.sidebar


def title(text: str) -> None:
    """The page title."""
    st.title(text)


def render_overview(view: Any, province: str | None) -> None:
    """Render an :class:`xkld_geo.overview.Overview`: badge, headline, map and table."""
    demo_badge(view.demo)
    st.subheader(view.title)
    headline(view.headline, "Tỉnh" if province is None else "Xã/phường")
    show_map(view.fmap, key="overview_map")
    st.dataframe(view.table, hide_index=True, width="stretch", key="overview_table",
                 column_config={"Đạt (%)": st.column_config.NumberColumn(format="%.1f")})
