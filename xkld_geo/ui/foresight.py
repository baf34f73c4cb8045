"""The Dự báo cuối năm page: year-end forecasts with their range, what it takes to reach the quota,
and the map of communes likely to miss (figures from :func:`xkld_geo.views.outlook.build_outlook`)."""
from __future__ import annotations

import streamlit as st

from xkld_geo.access import scope
from xkld_geo.figures import metrics
from xkld_geo.ui.common import Filters, connection, demo_badge, plain, repainting_map, settings, viewer
from xkld_geo.views import outlook


def render_outlook(f: Filters) -> None:
    """Headline of the selection, the map of communes by chance of reaching the quota, the table."""
    con = connection()
    view = outlook.build_outlook(con, f.year, f.month, f.province, settings().effective_today,
                                 scope.communes_in_scope(con, viewer()))   # commune rows: inside the scope only
    demo_badge(view.is_demo)
    st.subheader(plain(view.title))
    st.caption(plain(view.cutoff_label))
    row = view.selection
    if row is not None:
        cols = st.columns(4)
        cols[0].metric("Dự báo cả năm (khoảng 80%)",
                       f"{metrics.fmt_int(row['forecast'])} ({metrics.fmt_int(row['lo'])}–{metrics.fmt_int(row['hi'])})")
        reach = row["p_reach"]
        cols[1].metric("Khả năng đạt chỉ tiêu", "–" if reach != reach else f"{100 * reach:.0f}%",
                       help=f"Chỉ tiêu năm: {metrics.fmt_int(row['quota'])}")
        cols[2].metric("Cần mỗi tháng từ nay", metrics.fmt_int(row["needed_per_month"]),
                       help="(Chỉ tiêu − lũy kế đến tháng chốt) ÷ số tháng còn lại")
        cols[3].metric("Xã/phường nhiều khả năng không đạt", f"{view.likely_miss}/{view.communes}",
                       help=f"Khả năng đạt chỉ tiêu dưới {outlook.LIKELY_MISS:.0%}")
    st.info(plain(view.explanation))
    if view.map_spec is not None:
        repainting_map(view.map_spec, "outlook_map", 560)
    st.markdown("**Từng đơn vị, khả năng đạt thấp nhất trước**")
    st.dataframe(view.units, hide_index=True, width="stretch", key="outlook_table")
