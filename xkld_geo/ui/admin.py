"""The administrator's page: users, public notices, and the audit log."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from xkld_geo import auth
from xkld_geo.errors import XkldError
from xkld_geo.ui.common import connection, plain
from xkld_geo.views import public


def render_admin(admin: auth.User) -> None:
    """Users (add, disable), public notices (edit), the newest audit lines."""
    con = connection()
    st.subheader("Tài khoản")
    st.dataframe(pd.DataFrame(auth.list_users(con), columns=["Tài khoản", "Tên", "Vai trò", "Đã khóa"]),
                 hide_index=True, width="stretch", key="users_table")
    with st.form("add_user", clear_on_submit=True):
        cols = st.columns(4)
        username = cols[0].text_input("Tên đăng nhập", key="new_username", max_chars=32)
        name = cols[1].text_input("Tên hiển thị", key="new_name", max_chars=100)
        role = cols[2].selectbox("Vai trò", [r for r in auth.ROLES if r != "public"], key="new_role",
                                 format_func=auth.ROLES.get)
        password = cols[3].text_input("Mật khẩu", type="password", key="new_password", max_chars=256)
        if st.form_submit_button("Thêm tài khoản"):
            try:
                auth.create_user(con, username.strip().lower(), password, role, name, by=admin.username)
                st.success(f"Đã thêm tài khoản {plain(username)}.")
            except XkldError as exc:
                st.error(plain(exc.message))
    st.subheader("Thông báo công khai")
    texts = public.notices(con)
    for key, label in public.NOTICE_KEYS.items():
        new = st.text_area(label, texts[key], key=f"notice_{key}", max_chars=2000)
        if new != texts[key] and st.button(f"Lưu: {label}", key=f"save_{key}"):
            try:
                public.set_notice(con, key, new, admin.username)
                auth.audit(con, admin.username, "notice_edited", key)
                st.success("Đã lưu.")
            except XkldError as exc:
                st.error(plain(exc.message))
    st.subheader("Doanh nghiệp được cấp phép (hiện trên trang Công khai)")
    edited = st.data_editor(public.companies(con), key="companies_editor", num_rows="dynamic",
                            hide_index=True, width="stretch")
    if st.button("Lưu danh sách doanh nghiệp", key="companies_save"):
        try:
            count = public.save_companies(con, edited, admin.username)
            auth.audit(con, admin.username, "reference_edited", "licensed_companies", f"{count} rows")
            st.success(f"Đã lưu {count} doanh nghiệp.")
        except XkldError as exc:
            st.error(plain(exc.message))
    st.subheader("Nhật ký")
    st.dataframe(auth.audit_entries(con), hide_index=True, width="stretch", key="audit_table")
