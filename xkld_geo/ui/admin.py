"""The administrator's page: users, public notices, the static open-data release, and the audit log."""
from __future__ import annotations

import duckdb
import pandas as pd
import streamlit as st

from xkld_geo.access import auth, scope, second_factor
from xkld_geo.errors import XkldError
from xkld_geo.figures import references
from xkld_geo.release import site as release_site
from xkld_geo.text import labels
from xkld_geo.ui import tables
from xkld_geo.ui.common import connection, plain, settings


def render_admin(admin: auth.User) -> None:
    """Users (add, import, disable: inside the administrator's scope), public notices (edit), the
    newest audit lines. Notices, companies and the release are the nation's."""
    con = connection()
    _accounts(con, admin)
    if not scope.of(con, admin).national:
        return
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
    tables.show(labels.audit_table(auth.audit_entries(con)), hide_index=True, width="stretch",
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


def _accounts(con: duckdb.DuckDBPyConnection, admin: auth.User) -> None:
    """The accounts the administrator manages (a province administrator: its province's only)."""
    st.subheader("Tài khoản")
    accounts = auth.list_accounts(con, admin)
    st.dataframe(pd.DataFrame({"Tài khoản": accounts["username"], "Tên": accounts["display_name"],
                               "Vai trò": accounts["role"].map(auth.ROLES), "Đơn vị": accounts["unit_code"],
                               "Doanh nghiệp": accounts["company_licence"], "Đã khóa": accounts["disabled"],
                               "Mật khẩu một lần": accounts["must_change_password"]}),
                 hide_index=True, width="stretch", key="users_table")
    with st.form("add_user", clear_on_submit=True):
        cols = st.columns(3)
        username = cols[0].text_input("Tên đăng nhập", key="new_username", max_chars=32)
        name = cols[1].text_input("Tên hiển thị", key="new_name", max_chars=100)
        role = cols[2].selectbox("Vai trò", [r for r in auth.ROLES if r != "public"], key="new_role",
                                 format_func=auth.ROLES.get)
        cols = st.columns(3)
        unit = cols[0].text_input("Đơn vị (VN, mã tỉnh 2 số, mã xã 5 số)", key="new_unit", max_chars=5,
                                  value=admin.unit)
        company = cols[1].text_input("Số giấy phép doanh nghiệp (nếu là tài khoản doanh nghiệp)", key="new_company",
                                     max_chars=40)
        password = cols[2].text_input("Mật khẩu", type="password", key="new_password", max_chars=256)
        if st.form_submit_button("Thêm tài khoản"):
            try:
                auth.add_account(con, admin, username.strip().lower(), password, role, name,
                                 unit=unit.strip() or "VN", company=company.strip() or None)
                st.success(f"Đã thêm tài khoản {plain(username)}.")
            except XkldError as exc:
                st.error(plain(exc.message))
    upload = st.file_uploader("Tạo nhiều tài khoản từ tệp CSV (cột: username, role, unit, name, company)",
                              type=["csv"], key="users_csv")
    if upload is not None and st.button("Tạo các tài khoản trong tệp", key="users_csv_go"):
        try:
            made = auth.import_accounts(con, admin, upload.getvalue(), upload.name)
            st.session_state["users_made"] = "username,mat_khau_mot_lan\n" + "".join(f"{u},{p}\n" for u, p in made)
            st.success(f"Đã tạo {len(made)} tài khoản. Tải tệp mật khẩu một lần ngay: tệp chỉ được đưa một lần.")
        except XkldError as exc:
            st.error(plain(exc.message))
    made_text = st.session_state.get("users_made")
    if made_text and st.download_button("Tải mật khẩu một lần (CSV)", made_text.encode("utf-8-sig"),
                                        "mat-khau-mot-lan.csv", "text/csv", key="users_made_download"):
        st.session_state.pop("users_made", None)
    _second_factors(con, admin, list(accounts["username"]))
    if len(accounts):
        cols = st.columns([3, 1])
        target = cols[0].selectbox("Khóa tài khoản", list(accounts["username"]), key="disable_user")
        if cols[1].button("Khóa", key="disable_go"):
            try:
                auth.disable_account(con, admin, target)
                st.success(f"Đã khóa {plain(target)}.")
            except XkldError as exc:
                st.error(plain(exc.message))


def _second_factors(con: duckdb.DuckDBPyConnection, admin: auth.User, usernames: list[str]) -> None:
    """Remove another account's second factor (a lost phone): its sessions end and the owner enrols
    again at the next login; refused outside the administrator's scope and for their own; audited."""
    st.subheader("Xác thực hai bước")
    if "_totp_removed" in st.session_state:
        st.success(f"Đã gỡ xác thực hai bước của {plain(st.session_state['_totp_removed'])}; "
                   "tài khoản phải đăng ký lại ở lần đăng nhập sau.")
    having = [u for u in usernames if u != admin.username and second_factor.enabled(con, u)]
    if not having:
        st.caption("Không có tài khoản nào khác (trong phạm vi quản lý) đã bật xác thực hai bước.")
        return
    cols = st.columns([3, 1])
    target = cols[0].selectbox("Gỡ xác thực hai bước của tài khoản (mất điện thoại)", having, key="totp_remove_user")
    if cols[1].button("Gỡ xác thực hai bước", key="totp_remove_go"):
        try:
            auth.remove_second_factor(con, admin, target)
            st.session_state["_totp_removed"] = target
            st.rerun()
        except XkldError as exc:
            st.error(plain(exc.message))
