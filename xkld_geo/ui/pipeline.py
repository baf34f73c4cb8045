"""The page "Tuyển chọn, đào tạo": the funnel from the job fair to departure, the recruitment orders,
the training courses and the labour demand by occupation × market, one tab each."""
from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from xkld_geo.access import scope
from xkld_geo.figures import metrics
from xkld_geo.pipeline import demand, funnel, orders, training
from xkld_geo.ui import tables
from xkld_geo.ui.common import Filters, connection, demo_badge, settings, viewer
from xkld_geo.ui.directives import _unit_map

PCT = st.column_config.NumberColumn(format="%.1f%%")


def _place(f: Filters) -> str:
    return "cả nước (theo tỉnh)" if f.province is None else (
        "xã đã chọn" if f.commune else "tỉnh đã chọn (theo xã)")


def _funnel(f: Filters) -> None:
    view = funnel.build_funnel(connection(), f.year, f.month, f.province, f.commune, settings().effective_today)
    demo_badge(view.is_demo)
    st.caption(f"T1–{f.month}/{f.year}, {_place(f)}. Các bước đơn hàng tính theo tháng phỏng vấn của đơn hàng; "
               "'Hoàn thành giáo dục định hướng' là khóa định hướng của đơn hàng. Tỷ lệ chuyển đổi = số của bước "
               "chia số của bước trước.")
    cols = st.columns(len(funnel.STEPS))
    for col, row in zip(cols, view.steps.itertuples(index=False)):
        col.metric(row.label, metrics.fmt_int(row.count),
                   None if row.conversion_pct is None or pd.isna(row.conversion_pct)
                   else f"{metrics.fmt_pct(row.conversion_pct)} bước trước", delta_color="off")
    shown = view.steps.rename(columns={"label": "Bước", "count": "Số người", "conversion_pct": "Chuyển đổi từ bước trước",
                                       "of_first_pct": "So với số dự sàn"}).drop(columns="step")
    tables.show(shown, hide_index=True, width="stretch", key="funnel_steps",
                 column_config={"Chuyển đổi từ bước trước": PCT,
                                "So với số dự sàn": st.column_config.ProgressColumn(format="%.1f%%", min_value=0,
                                                                                    max_value=100)})
    st.caption(f"Xuất cảnh theo đơn hàng (đến hết kỳ): {metrics.fmt_int(int(view.steps['count'].iloc[-1]))}, "
               f"là một phần của tổng số người xuất cảnh trong kỳ (mọi nguồn, theo báo cáo xuất cảnh): "
               f"{metrics.fmt_int(view.all_departures)}; phần lớn không qua sàn giao dịch việc làm.")
    reach = (100.0 * view.units["departed"] / view.units["attended"].where(view.units["attended"] > 0)).astype(float)
    _unit_map(connection(), f, pd.Series(reach.to_numpy(), index=view.units["unit_code"]), "share",
              "Xuất cảnh theo đơn hàng trên số người dự sàn (%)", (("value", "Xuất cảnh / dự sàn (%)", ""),),
              "funnel_map", view.is_demo)
    units = view.units.rename(columns={"unit_code": "Mã", "unit_name": "Tên", "all_departures": "Tổng xuất cảnh"}
                              | dict(funnel.STEPS)
                              | {f"{s}_pct": f"% {label.lower()}" for s, label in funnel.STEPS.items()})
    tables.show(units.drop(columns="is_demo"), hide_index=True, width="stretch", key="funnel_units",
                 column_config={c: PCT for c in units.columns if c.startswith("% ")})


def _orders(f: Filters) -> None:
    today = settings().effective_today
    view = orders.build_orders(connection(), f.year, f.month, today, f.province, f.commune)
    # a company's account sees its own orders (the counts by status stay the aggregate every role sees)
    mine = scope.own_rows(viewer(), view.open_orders, licence_column="licence_no")
    view = replace(view, open_orders=mine, open_places=int(mine["places"].sum()),
                   period_orders=scope.own_rows(viewer(), view.period_orders, licence_column="licence_no"))
    demo_badge(view.is_demo)
    cols = st.columns(3)
    cols[0].metric("Đơn hàng đang mở", metrics.fmt_int(len(view.open_orders)))
    cols[1].metric("Chỉ tiêu tuyển của đơn hàng đang mở", metrics.fmt_int(view.open_places))
    cols[2].metric(f"Đơn hàng thông báo T1–{f.month}/{f.year}", metrics.fmt_int(len(view.period_orders)))
    st.markdown(f"**Đơn hàng đang mở** (ngày {today:%d/%m/%Y}: đã thông báo, đang tuyển hoặc đã phỏng vấn, chưa xuất cảnh)")
    tables.show(orders.table(view.open_orders), hide_index=True, width="stretch", key="orders_open")
    st.markdown("**Đơn hàng trong kỳ theo trạng thái**")
    tables.show(view.by_status[["status_name", "orders", "places"]].rename(columns={
        "status_name": "Trạng thái", "orders": "Số đơn hàng", "places": "Chỉ tiêu tuyển"}),
        hide_index=True, width="stretch", key="orders_status")
    with st.expander(f"Tất cả đơn hàng thông báo T1–{f.month}/{f.year} ({len(view.period_orders)})"):
        tables.show(orders.table(view.period_orders), hide_index=True, width="stretch", key="orders_period")


def _training(f: Filters) -> None:
    view = training.build_training(connection(), f.year, f.month, settings().effective_today, f.province, f.commune)
    demo_badge(view.is_demo)
    st.caption("Khóa học kết thúc trong kỳ (khóa đang học chưa tính tỷ lệ hoàn thành).")
    cols = st.columns(len(view.by_type) + 1)
    for col, row in zip(cols, view.by_type.itertuples(index=False)):
        col.metric(f"Hoàn thành: {row.label}", metrics.fmt_pct(row.completion_pct),
                   f"{metrics.fmt_int(row.completed)}/{metrics.fmt_int(row.enrolled)} học viên", delta_color="off")
    cols[-1].metric("Người xuất cảnh đã hoàn thành giáo dục định hướng", metrics.fmt_pct(view.orientation_share_pct),
                    f"{metrics.fmt_int(view.orientation_completed)}/{metrics.fmt_int(view.all_departures)}",
                    delta_color="off")
    tables.show(view.by_type[["label", "courses", "enrolled", "completed", "completion_pct"]].rename(columns={
        "label": "Loại khóa", "courses": "Số khóa", "enrolled": "Ghi danh", "completed": "Hoàn thành",
        "completion_pct": "Tỷ lệ hoàn thành"}), hide_index=True, width="stretch", key="training_types",
        column_config={"Tỷ lệ hoàn thành": PCT})
    names = {"enrolled": "ghi danh", "completed": "hoàn thành", "pct": "tỷ lệ hoàn thành"}
    renamed = {f"{k}_{v}": f"{label}: {names[v]}" for k, label in training.COURSE_TYPES.items() for v in names}
    units = view.units.rename(columns={"unit_code": "Mã", "unit_name": "Tên"} | renamed)
    tables.show(units, hide_index=True, width="stretch", key="training_units",
                 column_config={c: PCT for c in units.columns if c.endswith("tỷ lệ hoàn thành")})


def _demand(f: Filters) -> None:
    view = demand.build_demand(connection(), f.year, f.month, None if f.province is None else f.province)
    demo_badge(view.is_demo)
    st.caption(f"Đơn hàng thông báo T1–{f.month}/{f.year} (trừ đơn hàng đã hủy)"
               + ("" if f.province is None else " của tỉnh đã chọn") + ": chỉ tiêu tuyển so với số người đã xuất "
               "cảnh theo đơn hàng, theo ngành nghề × thị trường.")
    cols = st.columns(3)
    cols[0].metric("Chỉ tiêu tuyển", metrics.fmt_int(view.total_places))
    cols[1].metric("Đã xuất cảnh theo đơn hàng", metrics.fmt_int(view.total_departed))
    cols[2].metric("Tỷ lệ đáp ứng", metrics.fmt_pct(100.0 * view.total_departed / view.total_places
                                                     if view.total_places else None))
    if view.rows.empty:
        st.info("Chưa có đơn hàng nào trong kỳ.")
        return
    st.markdown("**Chỉ tiêu tuyển theo ngành nghề × thị trường**")
    tables.show(view.places, width="stretch", key="demand_places")
    st.markdown("**Đã xuất cảnh theo ngành nghề × thị trường**")
    tables.show(view.departed, width="stretch", key="demand_departed")
    tables.show(view.rows.drop(columns="is_demo").rename(columns={
        "occupation": "Ngành nghề", "market": "Thị trường", "places": "Chỉ tiêu tuyển", "departed": "Đã xuất cảnh",
        "fill_pct": "Tỷ lệ đáp ứng"}), hide_index=True, width="stretch", key="demand_rows",
        column_config={"Tỷ lệ đáp ứng": PCT})


def render_pipeline(f: Filters) -> None:
    """The four tabs of the page."""
    tabs = st.tabs(["Từ sàn đến xuất cảnh", "Đơn hàng", "Đào tạo", "Nhu cầu lao động"])
    for tab, render in zip(tabs, (_funnel, _orders, _training, _demand)):
        with tab:
            render(f)
