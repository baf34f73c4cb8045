"""The overview page's controls and rendering (presentation mode, drill-down, ranking, exports)."""
from __future__ import annotations

import html
import time
from typing import Any

import pandas as pd
import pyarrow as pa
import streamlit as st

from xkld_geo.access import scope
from xkld_geo.database import cache
from xkld_geo.figures import export, metrics, queries
from xkld_geo.text import formats
from xkld_geo.ui import shared_tables, tables
from xkld_geo.ui.common import (
    apply_pending,
    connection,
    demo_badge,
    figures_choice,
    filters,
    plain,
    repainting_map,
    set_unit,
    to_query,
    viewer,
)
from xkld_geo.views import overview

CONTROLS = "overview_controls"
"""The key of the overview's controls bar; Streamlit gives the bar the CSS class ``st-key-<key>``."""
PRESENT_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
[data-testid="stToolbar"], .st-key-""" + CONTROLS + """ { display: none !important; }
html, body, [data-testid="stAppViewContainer"] { font-size: 22px; }
h1 { font-size: 2.6rem !important; } h2, h3 { font-size: 1.9rem !important; padding: 0.2rem 0 !important; }
[data-testid="stMetricValue"] { font-size: clamp(1.8rem, 2.5vw, 3.2rem); line-height: 1.15; }
[data-testid="stMetricLabel"] p { font-size: 1.15rem; line-height: 1.25; }
[data-testid="stMetricDelta"] { font-size: 1rem; }
.block-container { padding: 0.3rem 1.2rem 0 1.2rem; max-width: 100%; }
[data-testid="stVerticalBlock"] { gap: 0.35rem; }
.xkld-period { font-size: 0.8rem; margin-bottom: 0.4rem; }
[data-testid="stMainBlockContainer"] .stButton button { min-height: 0; padding: 0.1rem 0.7rem; }
</style>
"""
PRESENT_MAP_HEIGHT = 720
"""Map height in presentation mode: with the title and headline above it, the page fills a
1920×1080 projector without scrolling (checked by tests/test_browser_meeting.py)."""


def overview_indicator() -> str:
    """The indicator the maps are coloured by, in the sidebar: changing it reruns the whole page."""
    with st.sidebar:
        return str(st.radio("Chỉ số tô màu", list(overview.INDICATORS), key="indicator",
                            format_func=overview.INDICATORS.get))


def overview_request(indicator: str) -> overview.Request:
    """Read the overview's controls into a :class:`overview.Request`: the period, the unit and
    the map's level, in a bar above the map (:data:`CONTROLS`).

    The bar belongs to the overview's own part (``pages/0_Tong_quan.py``, :func:`ui.fragment`):
    a fragment's widgets must sit in its body, not in the sidebar, and then a new year, month or
    unit reruns that part alone, which is what makes a switch in a meeting quick."""
    bar = st.container(horizontal=True, key=CONTROLS, vertical_alignment="bottom", gap="medium")
    f = filters(bar=bar)
    year, month, province, commune = f.year, f.month, f.province, f.commune
    with bar:
        level = "province"
        if province is None:
            national = scope.of(connection(), viewer()).national   # a national commune map is commune detail
            level = st.radio("Bản đồ cả nước", list(overview.NATIONAL_LEVELS) if national else ["province"],
                             key="national_level",
                             format_func=overview.NATIONAL_LEVELS.get, horizontal=True)
        units = "now"
        before = overview.Request(year, month).before_reform
        if before and cache.scope(connection()).get("has_history", queries.has_history):
            if "units" not in st.session_state:
                st.session_state["units"] = "then" if st.query_params.get("units") == "then" else "now"
            units = st.radio("Bản đồ theo", list(overview.UNITS), key="units",
                             format_func=overview.UNITS.get, horizontal=True)
        to_query("units", units if units == "then" else None)
        figures = "approved" if figures_choice("figures", url="figures") else "received"
    return overview.Request(year, month, province, commune, indicator, level, units, figures)


# --- presentation mode ---------------------------------------------------------------------------

def presentation_controls() -> tuple[bool, list[str], int]:
    """The presentation toggle and rotation (URL ``mode=present``, ``cycle=40,46``, ``every=20``)."""
    apply_pending()   # a pending "present" (the exit button) before the toggle is drawn
    provinces = cache.scope(connection()).get("provinces", queries.provinces, copy=False)
    names = dict(zip(provinces["code"], provinces["name"]))
    if "present" not in st.session_state:
        st.session_state["present"] = st.query_params.get("mode") == "present"
        wanted = [c for c in str(st.query_params.get("cycle") or "").split(",") if c]
        st.session_state["cycle"] = [c for c in wanted if c in names]
        if len(st.session_state["cycle"]) != len(wanted):
            st.warning("Tham số 'cycle' trong địa chỉ có mã tỉnh không hợp lệ; đã bỏ qua.")
        every = str(st.query_params.get("every") or "20")
        ok = every.isascii() and every.isdigit() and len(every) <= 4  # "²".isdigit() but int("²") fails
        st.session_state["cycle_every"] = min(600, max(5, int(every))) if ok else 20
        if not ok:
            st.warning(f"Tham số 'every' trong địa chỉ không hợp lệ ({plain(every[:40])}); dùng 20 giây.")
    with st.sidebar:
        present = st.toggle("Chế độ trình chiếu", key="present")
        cycle = st.multiselect("Luân phiên các tỉnh", list(provinces["code"]), key="cycle", select_all=False,
                               format_func=names.get, placeholder="Chọn các tỉnh")
        every = int(st.number_input("Mỗi (giây)", min_value=5, max_value=600, step=5,
                                    key="cycle_every"))
    to_query("mode", "present" if present else None)
    to_query("cycle", ",".join(cycle) or None)
    to_query("every", every if cycle else None)
    if present:
        st.markdown(PRESENT_CSS, unsafe_allow_html=True)
        if st.button("✕ Thoát trình chiếu", key="exit_present"):
            st.session_state["_pending"] = {"present": False}
            st.rerun()
        if cycle:
            _rotation(cycle, every)
    return present, cycle, every


def _rotation(cycle: list[str], every: int) -> None:
    """Every ``every`` seconds move the view to the next unit of ``cycle``.

    The fragment also runs within every full rerun; only the clock decides when to move on, so a
    full rerun right after a move does not move again.
    """
    @st.fragment(run_every=every)
    def tick() -> None:
        now = time.monotonic()
        last = st.session_state.setdefault("_cycle_last", now)
        if now - last < every * 0.9:
            return
        st.session_state["_cycle_last"] = now
        index = st.session_state.get("_cycle_index", -1) + 1
        st.session_state["_cycle_index"] = index
        set_unit(cycle[index % len(cycle)], None)
        st.rerun(scope="app")
    tick()


# --- rendering ------------------------------------------------------------------------------------

def breadcrumbs(view: overview.Overview) -> None:
    """Clickable path back up: Toàn quốc › province › commune."""
    row = st.container(horizontal=True)   # one block, not a column each (fewer messages per run)
    for i, (label, province, commune) in enumerate(view.breadcrumbs):
        last = i == len(view.breadcrumbs) - 1
        if row.button(plain(label) if last else f"{plain(label)} ›", key=f"crumb_{i}", disabled=last):
            set_unit(province, commune)
            st.rerun()


def forecast_text(h: overview.PeriodHeadline) -> str:
    """'150.000 (145.000–156.000)': the year-end forecast and its 80 % range (the point alone
    where no past year could test a range)."""
    if h.projected_low is None or h.projected_high is None:
        return metrics.fmt_int(h.projected)
    return f"{metrics.fmt_int(h.projected)} ({metrics.fmt_int(h.projected_low)}–{metrics.fmt_int(h.projected_high)})"


def period_headline(h: overview.PeriodHeadline) -> None:
    """Five headline numbers in large type, under the period they cover."""
    # the labels' wrapping rules live in the page's CSS (common.PAGE_CSS), which stays the same on
    # every run: in this markdown, whose label changes with the period, the browser would restyle
    # the whole page on each switch
    st.markdown(f"<div data-testid='period-label' class='xkld-period'>{html.escape(h.period_label)}</div>",
                unsafe_allow_html=True)
    # one horizontal container instead of six columns: seven messages per run fewer, the same row
    with st.container(horizontal=True, gap="small", key="headline"):
        st.metric("Chỉ tiêu năm", metrics.fmt_int(h.quota), width="stretch")
        st.metric("Đã xuất cảnh (lũy kế)", metrics.fmt_int(h.ytd), width="stretch",
                  help="Tỷ lệ so chỉ tiêu cả năm: " + metrics.fmt_pct(h.attainment_pct))
        st.metric("Đạt tiến độ", metrics.fmt_pct(h.pace_pct), width="stretch",
                  help="So với số cần đạt đến nay = chỉ tiêu × số tháng đã qua / 12")
        st.metric("Dự báo cả năm", forecast_text(h), help=h.projection_note, width="stretch",
                  delta=metrics.fmt_pct(h.projected_pct) + " chỉ tiêu", delta_color="off")
        st.metric("Xã/phường dưới 50% tiến độ", formats.fmt_ratio(h.communes_below_50, h.communes), width="stretch")
        received, on_time = h.reports_received_pct, h.reports_on_time_pct
        st.metric("Báo cáo tháng đã nhận", "–" if received is None else metrics.fmt_pct(received), width="stretch",
                  help="Báo cáo số người xuất cảnh hằng tháng của các xã đã đến hạn (từ tháng 7/2025); "
                       "đúng hạn: " + ("–" if on_time is None else metrics.fmt_pct(on_time)))


def _map_clicks(view: overview.Overview, returned: dict[str, Any] | None) -> None:
    """Drill down when a shape is clicked: a province opens its communes, a commune selects it."""
    if view.request.units == "then":
        return  # units of the time are for looking back, not for choosing
    drawing = (returned or {}).get("last_active_drawing") or {}
    code = (drawing.get("properties") or {}).get("code")
    signature = (view.request.province, view.request.commune, view.request.national_level, code)
    if not code or st.session_state.get("_last_click") == signature:
        return
    st.session_state["_last_click"] = signature
    if len(code) == 2:
        set_unit(code, None)
    elif len(code) == 5 and view.request.province:
        set_unit(view.request.province, code)
    else:
        return
    st.rerun()


RANKING_ROWS = 200
"""Rankings longer than this (the 3,321 communes of the national map) open on their first and last
:data:`RANKING_ENDS` rows; "Xem tất cả" shows every row. Serialising 3,321 rows on every rerun
costs more than the whole rest of the page."""
RANKING_ENDS = 25
MARKED = 10
TOP, BOTTOM = f"{MARKED} đầu", f"{MARKED} cuối"
GROUP = "Nhóm"
RANKING_CONFIG: dict[str, Any] = {
    # formats and colours declared once, drawn by the browser: pandas' Styler cost ~30 ms a rerun
    GROUP: st.column_config.MultiselectColumn(GROUP, options=[TOP, BOTTOM], color=["blue", "red"], width="small",
                                              help=f"{MARKED} đơn vị đầu (xanh) và {MARKED} đơn vị cuối (đỏ) "
                                                   "theo tỷ lệ đạt tiến độ"),
    "± hạng so tháng trước": st.column_config.NumberColumn(format=formats.TABLE_SIGNED_INT),
    "Trên 1.000 người LĐ": st.column_config.NumberColumn(format="%.2f"),
    **{c: st.column_config.NumberColumn(format="%.1f") for c in overview.RANKING_COLUMNS.values() if "(%)" in c},
    **{c: st.column_config.NumberColumn(format=formats.TABLE_INT) for c in ("Chỉ tiêu năm", "Đã xuất cảnh (lũy kế)",
                                                               "Cần đạt đến nay", "Dự báo cả năm",
                                                               "Cùng kỳ năm trước")},  # counts, not 1848.000000
}
def ranking_shown(table: pd.DataFrame, everything: bool = True) -> pd.DataFrame:
    """The ranking as shown: the group column (top and bottom :data:`MARKED` by rank, the
    bottom ones only when there are more than twice as many rows) after the rank; a long ranking
    cut to its ends unless ``everything``."""
    n = len(table)
    group = [[TOP] if i < MARKED else [BOTTOM] if n > 2 * MARKED and i >= n - MARKED else [] for i in range(n)]
    shown = table.copy()
    shown.insert(1, GROUP, group)
    if not everything and n > RANKING_ROWS:
        shown = pd.concat([shown.head(RANKING_ENDS), shown.tail(RANKING_ENDS)])
    return shown


def _ranking_arrow(view: overview.Overview, everything: bool) -> pa.Table | pd.DataFrame:
    """:func:`ranking_shown` of a shared view as an Arrow table, made once per view."""
    return shared_tables.arrow(view, f"ranking:{everything}", lambda: ranking_shown(view.ranking, everything))


PRESENT_COLUMNS = ("Hạng", GROUP, "Tên", "Đạt tiến độ (%)", "Đã xuất cảnh (lũy kế)")
"""The ranking beside the map in a meeting: the columns a room reads, all of them on screen."""
PRESENT_CONFIG: dict[str, Any] = RANKING_CONFIG | {
    # 455 px in all: inside the ranking's 512 px beside the map at 1366×768 (short headers, no header cut)
    "Hạng": st.column_config.NumberColumn("Hạng", width=50),
    GROUP: {**RANKING_CONFIG[GROUP], "width": 72},
    "Tên": st.column_config.TextColumn("Tên", width=150),
    "Đạt tiến độ (%)": st.column_config.NumberColumn("Tiến độ (%)", width=93),
    "Đã xuất cảnh (lũy kế)": st.column_config.NumberColumn("Đã đi", width=90, format=formats.TABLE_INT),
}


def ranking(view: overview.Overview, height: int, present: bool = False) -> None:
    """The thi đua ranking: a long one shows its ends, and every row on demand; in a meeting, the
    columns of :data:`PRESENT_COLUMNS` only, so none is cut at 1920×1080 or 1366×768."""
    n = len(view.ranking)
    everything = n <= RANKING_ROWS or st.toggle(f"Xem tất cả {formats.fmt_int(n)} đơn vị", key="ranking_all")
    tables.show(_ranking_arrow(view, everything), hide_index=True, width="stretch", key="ranking",
                height=height, column_config=PRESENT_CONFIG if present else RANKING_CONFIG,
                column_order=PRESENT_COLUMNS if present else None)
    if not everything:
        st.caption(f"{RANKING_ENDS} đơn vị đầu và {RANKING_ENDS} đơn vị cuối bảng xếp hạng.")


TREND_COLOURS = {"Năm nay (lũy kế)": "#2c7bb6", "Năm trước (lũy kế)": "#9e9e9e", "Tiến độ cần đạt": "#d7191c"}
TREND_SPEC: dict[str, Any] = {
    "config": {"locale": formats.VEGA_LOCALE},   # axes and tooltips in vi-VN: 150.000, not 150,000
    # a plain Vega-Lite spec: st.line_chart builds and validates an Altair chart on every rerun (~0,3 s)
    "mark": {"type": "line", "point": True, "tooltip": True},
    "encoding": {
        "x": {"field": "Tháng", "type": "quantitative", "scale": {"domain": [1, 12]}, "axis": {"values": list(range(1, 13))}},
        "y": {"field": "Số người", "type": "quantitative", "title": None},
        "color": {"field": "Đường", "type": "nominal", "title": None,   # legend on the right: one at the top or
                  # bottom is taken out of the fixed height and squashes the plot
                  "scale": {"domain": list(TREND_COLOURS), "range": list(TREND_COLOURS.values())}},
    },
}


def _approval_caption(view: overview.Overview) -> None:
    """Which figures count (every report received, or approved only) and how many of the period's
    commune-months are not approved yet (:func:`overview.figures_note`, built with the view)."""
    if view.approval_note:
        st.caption(plain(view.approval_note))


def render_overview(view: overview.Overview, present: bool) -> None:
    """Render an :class:`overview.Overview`: path, headline, map, trend, ranking and downloads."""
    demo_badge(view.demo)
    if not present:
        breadcrumbs(view)
    st.subheader(plain(view.title))
    period_headline(view.headline)
    _approval_caption(view)
    left, right = st.columns([3, 2])
    with left:
        # a new period or indicator repaints the drawn map and keeps its zoom
        returned = repainting_map(view.map_spec, "overview_map", PRESENT_MAP_HEIGHT if present else 600,
                                  ["last_active_drawing"])
        _map_clicks(view, returned)
    with right:
        st.markdown(f"**Lũy kế xuất cảnh so với tiến độ, {plain(view.period_label)}**")
        st.vega_lite_chart(shared_tables.arrow(view, "trend", lambda: view.trend_long), TREND_SPEC | {"height": 200 if present else 260}, width="stretch",
                           key="trend_chart")
        if present:  # the ranking beside the map: the meeting screen never scrolls
            ranking(view, 360, present=True)
        if not present:
            st.download_button("⬇ Bản đồ (PNG)", key="download_png", mime="image/png",
                               data=lambda: export.map_png(view.map_spec, view.title),
                               file_name=f"ban-do-{view.request.year}-{view.request.month:02d}.png")
            st.download_button("⬇ Bảng xếp hạng (XLSX)", key="download_xlsx",
                               data=lambda: export.ranking_xlsx(view.ranking, view.title, view.demo),  # built on click
                               mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                               file_name=f"xep-hang-{view.request.year}-{view.request.month:02d}.xlsx")
    if not present:
        st.markdown(f"**Bảng xếp hạng thi đua** (nhóm {TOP} màu xanh, {BOTTOM} màu đỏ)")
        ranking(view, 520)
