"""The administrator's page: users, public notices, the static open-data release, and the audit log."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from xkld_geo import auth, labels, references
from xkld_geo.errors import XkldError
from xkld_geo.release import site as release_site
from xkld_geo.ui import tables
from xkld_geo.ui.common import connection, plain, settings


def render_admin(admin: auth.User) -> None:
    """Users (add, disable), public notices (edit), the newest audit lines."""
    con = connection()
    st.subheader("Tài khoản")
    users = pd.DataFrame(auth.list_users(con), columns=["Tài khoản", "Tên", "Vai trò", "Đã khóa"])
    tables.show(labels.labelled(users, {"Vai trò": "role"}), hide_index=True, width="stretch", key="users_table")
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
    texts = references.notices(con)
    for key, label in references.NOTICE_KEYS.items():
        new = st.text_area(label, texts[key], key=f"notice_{key}", max_chars=2000)
        if new != texts[key] and st.button(f"Lưu: {label}", key=f"save_{key}"):
            try:
                references.save_notice(con, key, new, admin)
                st.success("Đã lưu.")
            except XkldError as exc:
                st.error(plain(exc.message))
    st.subheader("Doanh nghiệp được cấp phép (hiện trên trang Công khai)")
    edited = tables.edit(references.read(con, "companies"), key="companies_editor", num_rows="dynamic",
                            hide_index=True, width="stretch")
    if st.button("Lưu danh sách doanh nghiệp", key="companies_save"):
        try:
            count = references.save(con, "companies", edited, admin)
            st.success(f"Đã lưu {count} doanh nghiệp.")
        except XkldError as exc:
            st.error(plain(exc.message))
    _release(con, admin)
    st.subheader("Nhật ký")
    tables.show(labels.labelled(auth.audit_entries(con), {"Việc": "audit_action"}), hide_index=True, width="stretch",
                key="audit_table")


def _release(con: object, admin: auth.User) -> None:
    """Publish the static open-data release now, and list the releases already written."""
    st.subheader("Bản phát hành dữ liệu mở (trang web tĩnh)")
    cfg = settings()
    st.caption(f"Thư mục: {cfg.publish_dir}. Sao chép thư mục latest/ lên máy chủ web công khai; "
               "ứng dụng này chỉ dùng trong mạng nội bộ."
               + (" Tự động phát hành lại sau mỗi lần nhập dữ liệu hoặc phê duyệt." if cfg.publish_auto else ""))
    if st.button("Phát hành bản dữ liệu mở", key="publish_release"):
        with st.status("Đang phát hành: tổng hợp số liệu, viết các trang, bảng và bản đồ…", expanded=True) as status:
            try:
                result = release_site.publish_configured(con, cfg)  # type: ignore[arg-type]
                auth.audit(con, admin.username, "release_published", result.version)  # type: ignore[arg-type]
                status.update(label="Đã phát hành xong.", state="complete", expanded=False)
                st.session_state["_release_done"] = result.summary()
            except XkldError as exc:
                status.update(label="Không phát hành được.", state="error")
                st.error(plain(exc.message))
    if "_release_done" in st.session_state:   # the result stays on screen
        st.success(plain(st.session_state["_release_done"]))
    names = release_site.versions(cfg.publish_dir)
    if names:
        st.caption("Các bản đã phát hành: " + ", ".join(reversed(names)))


def republish_after_change(con: object, what: str) -> None:
    """After a successful import or approval: publish again when XKLD_PUBLISH_AUTO asks for it."""
    try:
        result = release_site.auto_publish(con, settings())  # type: ignore[arg-type]
    except XkldError as exc:
        st.warning(f"{what} đã lưu, nhưng chưa phát hành lại được dữ liệu mở: {exc.message}")
        return
    if result is not None:
        st.caption(result.summary())
