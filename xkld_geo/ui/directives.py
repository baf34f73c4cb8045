"""Pages for what the directives track besides head counts: priority groups, markets, job fairs,
and loans / returns / problems. Each follows the shared filters (year, month, province, commune).

Each page reads its widgets, asks its view module for the view of the request (built once per data
version and request, shared by every session: :mod:`xkld_geo.database.cache`) and renders it: maps through
the map component keyed by the view's own spec objects (rendered once per view), plain tables as
Arrow tables made once per view (:mod:`xkld_geo.ui.shared_tables`), so opening a page again with the
same filters runs no query and renders no map.
"""
from __future__ import annotations

from typing import Any

import folium
import pandas as pd
import pyarrow as pa
import streamlit as st
from pandas.io.formats.style import Styler

from xkld_geo.access import auth
from xkld_geo.errors import XkldError
from xkld_geo.figures import references
from xkld_geo.protection.problems import RULE
from xkld_geo.ui import map_component, shared_tables, tables
from xkld_geo.ui.common import Filters, connection, demo_badge, geometry_fetched, plain, repainting_map, settings
from xkld_geo.views import jobfairs, markets, priority, problems, units
from xkld_geo.views.problems import PROBLEM_COLUMNS

SELECTED_STYLE = "background-color: #fff3cd; font-weight: 600"
"""How the selected commune's row is marked in a page's tables."""


def _unit_map(con: Any, f: Filters, values: pd.Series, legend: str, title: str, tooltip: tuple, key: str,
              is_demo: bool, classes: tuple | None = None, labels: pd.Series | None = None) -> None:
    """A choropleth of ``values`` (indexed by unit code) over provinces or a province's communes, the
    selected commune outlined (:func:`units.unit_spec`); for pages whose figures are not a shared view."""
    spec = units.unit_spec(con, f.province, f.commune, values, legend, title, tooltip, is_demo, classes, labels)
    repainting_map(spec, key, 560)  # new figures repaint the drawn map and keep its zoom


def _figures(figures: tuple[units.Figure, ...]) -> None:
    """A view's headline figures, one column each."""
    for col, figure in zip(st.columns(len(figures)), figures):
        col.metric(figure.label, figure.value, help=figure.help)


def _commune_headline(headline: units.CommuneHeadline | None, key: str) -> None:
    """The selected commune's own figures, in a box above its province's map and table."""
    if headline is None:
        return
    with st.container(border=True, key=key):
        st.markdown(f"**Xã/phường đang chọn: {plain(headline.name)}**")
        if not headline.figures:
            st.write("Chưa có số liệu của xã/phường này trong kỳ.")
            return
        _figures(headline.figures)


def _selected_first(data: pd.DataFrame, commune: str | None, code_column: str = "Mã") -> pd.DataFrame:
    """``data`` with the selected commune's row moved to the top (unchanged without a selection)."""
    if commune is None:
        return data
    first = data[code_column] == commune
    return pd.concat([data[first], data[~first]])


def _highlight(styler: Styler, commune: str | None, code_column: str = "Mã",
               subset: list[str] | None = None) -> Styler:
    """Colour the selected commune's row (or its ``subset`` cells, which must include ``code_column``)."""
    if commune is None:
        return styler
    return styler.apply(lambda row: [SELECTED_STYLE if row[code_column] == commune else ""] * len(row),
                        axis=1, subset=subset)


def _whole_numbers(data: pd.DataFrame) -> pd.DataFrame:
    """``data`` with whole-number float columns (sums from the database) as integers."""
    data = data.copy()
    for column in data.columns:
        values = data[column]
        if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
            data[column] = values.astype("Int64")
    return data


def _marked(data: pd.DataFrame, commune: str | None, code_column: str = "Mã") -> pd.DataFrame | Styler:
    """A page's table with the selected commune first and highlighted; the plain table otherwise.

    Whole-number float columns (sums from the database) are shown as integers either way, and a
    Styler keeps other floats to one decimal (pandas would print six), so both views read alike.
    """
    data = _whole_numbers(data)
    if commune is None or not (data[code_column] == commune).any():
        return data
    data = _selected_first(data, commune, code_column)
    return _highlight(data.style.format(precision=1, na_rep="–"), commune, code_column)


def _table(view: object, data: pd.DataFrame, commune: str | None) -> pa.Table | pd.DataFrame | Styler:
    """A view's unit table for ``st.dataframe``: with a selected commune of the table, that row first
    and highlighted (a Styler, made per run); otherwise the plain table as Arrow, made once per view."""
    if commune is not None and (data["Mã"] == commune).any():
        return _marked(data, commune)
    return shared_tables.arrow(view, "units", lambda: _whole_numbers(data))


def render_priority(f: Filters) -> None:
    """Share of departures from a priority group, and coverage of its eligible pool."""
    con = connection()
    demo_badge(units.is_demo(con))
    group = st.selectbox("Nhóm ưu tiên", list(priority.GROUPS), key="priority_group",
                         format_func=priority.GROUPS.get)
    view = priority.build_priority(con, f.year, f.month, f.province, f.commune, group)
    st.caption("Một người lao động có thể thuộc nhiều nhóm: được tính một lần trong \"Tất cả nhóm ưu tiên\" "
               "và một lần trong mỗi nhóm của mình.")
    st.subheader(view.title)
    _figures(view.figures)
    _commune_headline(view.commune, "priority_commune")
    repainting_map(view.map, "priority_map", 560)  # new figures repaint the drawn map and keep its zoom
    tables.show(_table(view, view.table, units.selected_commune(f.province, f.commune)), hide_index=True,
                 width="stretch", key="priority_table")


def _flow_map(con: Any, flow: markets.FlowMap, fetched: bool) -> tuple[folium.Map, None]:
    """The flow map of a view, and no separate values part."""
    return markets.flow_map(con, flow.mix, flow.origin, flow.static_url, flow.demo, fetched), None


def render_markets(f: Filters, user: auth.User) -> None:
    """Flow map, market mix over time, safe share, income and cost, and where a market's workers come from."""
    con = connection()
    view = markets.build_markets(con, f.year, f.month, f.province, f.commune, settings().static_url)
    demo_badge(view.demo)
    _figures(view.figures)
    fetched = geometry_fetched()
    map_component.draw(view.flow, lambda: _flow_map(con, view.flow, fetched), "flow_map", 520,
                       variant=(fetched,))  # rendered once per view and way of sending shapes
    st.markdown("**Cơ cấu thị trường theo tháng**")
    st.vega_lite_chart(shared_tables.arrow(view, "mix", lambda: view.monthly), view.chart, width="stretch",
                       height=300)
    market = st.selectbox("Xem nơi đi của người lao động sang thị trường", list(view.choices) or ["JP"],
                          key="market_pick", format_func=view.names.get)
    repainting_map(markets.build_origins(con, f.year, f.month, f.province, f.commune, market),
                   "market_origin_map", 560)
    st.markdown("**Thu nhập và chi phí ước tính theo thị trường** (bảng tham chiếu, có nguồn)")
    if auth.allowed(user, "edit_reference"):
        edited = tables.edit(view.reference.copy(), key="reference_editor", hide_index=True, width="stretch",
                                num_rows="dynamic")
        if st.button("Lưu bảng thị trường", key="reference_save"):
            try:
                st.success(f"Đã lưu {references.save(con, 'markets', edited, user)} thị trường.")
            except XkldError as exc:
                st.error(plain(exc.message))
    else:
        tables.show(shared_tables.arrow(view, "reference", lambda: view.reference), hide_index=True,
                     width="stretch", key="reference_table")


def render_jobfairs(f: Filters) -> None:
    """Compliance with "at least 4 people a month", the calendar table, and who missed twice running."""
    s = settings()
    view = jobfairs.build_jobfairs(connection(), f.year, f.month, f.province, f.commune, s.effective_today,
                                   s.report_due_day)
    demo_badge(view.demo)
    st.caption(view.caption)
    if view.empty is not None:
        st.info(view.empty)
        return
    assert view.map is not None and view.table is not None
    if f.province is None:
        repainting_map(view.map, "jobfair_map", 560)
        tables.show(shared_tables.arrow(view, "provinces", lambda: view.table), hide_index=True, width="stretch",
                     key="jobfair_provinces")
        return
    _figures(view.figures)
    _commune_headline(view.commune, "jobfair_commune")
    repainting_map(view.map, "jobfair_map", 560)
    commune = units.selected_commune(f.province, f.commune)
    tables.show(_table(view, view.table, commune), hide_index=True, width="stretch", key="jobfair_table")
    st.markdown(f"**Lịch dự sàn theo tháng** (ô dưới {jobfairs.TARGET} tô đỏ; ô \"–\": xã chưa báo cáo, "
                "tính là không đạt)")
    calendar = view.calendar
    assert calendar is not None
    months = [c for c in calendar.columns if c[1:].isdigit()]  # T1..T12, not "Tên"
    styled = calendar.style.map(lambda v: "background-color: #f9dcdc" if pd.isna(v) or v < jobfairs.TARGET
                                else "background-color: #dbeaf5", subset=months).format(na_rep="–")
    tables.show(_highlight(styled, commune, subset=["Mã", "Tên"]), hide_index=True, width="stretch",
                 key="jobfair_calendar")
    st.markdown(f"**Xã hai tháng liền không đạt: {len(view.missed)}**")
    st.markdown(plain(", ".join(view.missed)) or "Không có.")


def render_programme(f: Filters) -> None:
    """Loans, returns, contract breaches / illegal stay and fraud reports per unit, with a map."""
    view = problems.build_problems(connection(), f.year, f.month, f.province, f.commune)
    demo_badge(view.demo)
    st.caption(RULE)
    _figures(view.figures)
    _commune_headline(view.commune, "problem_commune")
    measure = st.radio("Bản đồ theo", list(problems.MEASURES), key="problem_measure",
                       format_func=PROBLEM_COLUMNS.get, horizontal=True)
    repainting_map(view.maps[measure], "problem_map", 560)
    tables.show(_table(view, view.table, units.selected_commune(f.province, f.commune)), hide_index=True,
                 width="stretch", key="problem_table")
