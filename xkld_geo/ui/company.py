"""The company page: a licensed recruitment company's orders and the people they sent."""
from __future__ import annotations

import streamlit as st

from xkld_geo.access import auth, scope
from xkld_geo.errors import XkldError
from xkld_geo.text import formats
from xkld_geo.ui import tables
from xkld_geo.ui.common import connection, demo_badge, plain, settings
from xkld_geo.views import company


def render_company(user: auth.User) -> None:
    """A company account sees its own page; a national account chooses a company; others are refused."""
    con = connection()
    today = settings().effective_today
    asked = None
    if scope.of(con, user).national:
        choices = company.licences(con)
        if not choices:
            st.info("Chưa có doanh nghiệp nào có đơn hàng hoặc trong danh sách được cấp phép.")
            return
        asked = st.selectbox("Doanh nghiệp (số giấy phép)", choices, key="company_licence")
    year = int(st.selectbox("Năm", list(range(today.year, 2020, -1)), key="company_year"))
    try:
        view = company.build_company(con, user, year, today, asked)
    except XkldError as exc:
        st.error(plain(exc.message))
        return
    demo_badge(view.demo)
    st.subheader(plain(f"{view.name} (giấy phép {view.licence}), năm {view.year}"))
    with st.container(horizontal=True, gap="small"):
        for label, key in (("Đơn hàng", "orders"), ("Đang mở", "open"), ("Chỉ tiêu tuyển", "places"),
                           ("Dự phỏng vấn", "interviewed"), ("Trúng tuyển", "passed"), ("Đã xuất cảnh", "departed")):
            st.metric(label, formats.fmt_int(view.totals[key]), width="stretch")
    st.markdown("**Người lao động qua các đơn hàng của doanh nghiệp, theo tỉnh**")
    tables.show(view.by_province, hide_index=True, width="stretch", key="company_by_province",
                empty="Chưa có kết quả phỏng vấn nào của các đơn hàng trong năm.")
    st.markdown("**Theo thị trường**")
    tables.show(view.by_market, hide_index=True, width="stretch", key="company_by_market",
                empty="Chưa có đơn hàng nào trong năm.")
    with st.expander(f"Các đơn hàng của doanh nghiệp ({formats.fmt_int(len(view.orders))})"):
        tables.show(view.orders, hide_index=True, width="stretch", key="company_orders",
                    empty="Chưa có đơn hàng nào trong năm.")
    st.markdown(f"**Cả nước: xuất cảnh theo tỉnh, lũy kế đến tháng {view.month}/{view.year}**")
    tables.show(view.national, hide_index=True, width="stretch", key="company_national")
