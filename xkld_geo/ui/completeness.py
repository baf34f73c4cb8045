"""The reporting-completeness page: who reported, on time or late, and whom to chase."""
from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from xkld_geo import maps
from xkld_geo.access import scope
from xkld_geo.figures import metrics, queries
from xkld_geo.reporting import completeness
from xkld_geo.ui import tables
from xkld_geo.ui.common import Filters, connection, demo_badge, repainting_map, settings, viewer

CELL_COLOURS = {"Đúng hạn": "#dbeaf5", "Trễ": "#fde0b2", "Đã sửa": "#e6dcf5", "chưa báo cáo": "#f9dcdc"}


def _cell_style(value: object) -> str:
    text = str(value or "")
    for start, colour in CELL_COLOURS.items():
        if text.startswith(start):
            return f"background-color: {colour}"
    return ""


def render_completeness(f: Filters) -> None:
    """Shares received and on time, the map, the table, the calendar and the list to chase."""
    con = connection()
    kind = st.sidebar.radio("Loại báo cáo (lịch theo tháng)", list(completeness.KINDS), key="completeness_kind",
                            format_func=completeness.KINDS.get)
    view = completeness.build_view(con, f.year, f.month, f.province, kind, settings().effective_today,
                                   settings().report_due_day)
    demo_badge(view.demo)
    st.subheader(view.title)
    if not view.shares.due:
        st.info("Trong kỳ đã chọn chưa có báo cáo tháng nào đến hạn (các xã mới báo cáo từ tháng 7/2025).")
        return
    cols = st.columns(4)
    cols[0].metric("Báo cáo đã đến hạn", metrics.fmt_int(view.shares.due))
    cols[1].metric("Tỷ lệ đã nhận", metrics.fmt_pct(view.shares.received_pct))
    cols[2].metric("Tỷ lệ đúng hạn", metrics.fmt_pct(view.shares.on_time_pct))
    cols[3].metric("Chưa báo cáo", metrics.fmt_int(view.shares.due - view.shares.received))
    level = "province" if f.province is None else "commune"
    shapes = queries.shapes(con, "2025", level, "coarse" if f.province is None else "fine", f.province)
    props = pd.DataFrame({"value": view.map_values}).reindex(shapes["code"])
    props["fill"] = [maps.colour_for(v, maps.LEGENDS[completeness.MAP_CLASSES][:-1]) for v in props["value"]]
    spec = maps.ChoroplethSpec(shapes, props, None, "Tỷ lệ báo cáo đúng hạn (%)", view.demo,
                               classes=completeness.MAP_CLASSES,
                               tooltip=(("value", "Đúng hạn (%)", ""),))
    repainting_map(spec, "completeness_map", 520)
    tables.show(view.units, hide_index=True, width="stretch", key="completeness_table")
    if f.province is not None:
        st.markdown(f"**Lịch báo cáo theo tháng: {completeness.KINDS[kind]}**")
        months = [c for c in view.calendar.columns if str(c).startswith("T") and str(c)[1:].isdigit()]
        tables.show(view.calendar.style.map(_cell_style, subset=months), hide_index=True, width="stretch",
                     key="completeness_calendar")
    chase = scope.visible_communes(con, viewer(), view.chase, "Mã")   # names and phones: inside the scope only
    view = dataclasses.replace(view, chase=chase)
    st.markdown(f"**Xã cần đôn đốc (còn báo cáo chưa gửi): {len(view.chase)}**")
    if len(view.chase):
        tables.show(view.chase, hide_index=True, width="stretch", key="completeness_chase")
    else:
        st.write("Không có.")
