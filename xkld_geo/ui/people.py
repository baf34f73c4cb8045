"""The people-in-charge page: lists by province and commune, edited by planners and administrators."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from xkld_geo.access import auth, scope
from xkld_geo.errors import XkldError
from xkld_geo.figures import queries
from xkld_geo.intake import kinds
from xkld_geo.reporting import people
from xkld_geo.ui import tables
from xkld_geo.ui.common import connection, settings
from xkld_geo.ui.imports import plain

SHOWN = {"unit_name": "Đơn vị", "role": "Vai trò", "full_name": "Họ và tên", "position": "Chức vụ",
         "phone": "Điện thoại", "email": "Thư điện tử", "updated_by": "Người cập nhật", "updated_at": "Lúc cập nhật"}


def db_communes(con: object, province: str) -> pd.DataFrame:
    """The province's communes (code, name), to choose whose list to edit."""
    return people.communes_of(con, province)


def render_people(user: auth.User) -> None:
    """The list of a province and its communes; one unit's list editable; the XLSX import."""
    con = connection()
    provinces = queries.provinces(con)
    names = dict(zip(provinces["code"], provinces["name"]))
    own = scope.of(con, user)
    shown = scope.provinces_shown(con, user, list(provinces["code"])) or ([own.province] if own.province else [])
    if not shown:
        st.error(plain(scope.refusal(user, own, scope.NATION, "xem danh sách người phụ trách").message))
        return
    province = st.selectbox("Tỉnh/thành", shown, key="people_province", format_func=names.get)
    st.caption("Danh sách chỉ dùng nội bộ; không hiện trên trang công khai và các tệp công khai.")
    listing = scope.people_visible(con, user, people.listing(con, province))   # phones: inside the scope only
    if listing["is_demo"].any():
        st.caption("Người có dấu (minh họa) là dữ liệu minh họa, không phải người thật.")
    table = listing.assign(role=listing["role"].map(people.ROLES).fillna(listing["role"]))
    tables.show(table[list(SHOWN)].rename(columns=SHOWN), hide_index=True, width="stretch", key="people_table")
    can_edit = auth.allowed(user, people.EDIT_ACTION)
    if not can_edit:
        st.info("Chỉ cán bộ kế hoạch và quản trị viên sửa được danh sách này.")
        return
    st.subheader("Sửa danh sách của một đơn vị")
    communes = scope.visible_communes(con, user, db_communes(con, province).rename(
        columns={"unit_code": "commune_code"})).rename(columns={"commune_code": "unit_code"})
    units = [("province", province, names[province])] * (own.level in ("nation", "province")) + [("commune", c, n) for c, n in
                                                         zip(communes["unit_code"], communes["unit_name"])]
    labels = {f"{lvl}:{code}": f"{people.LEVELS[lvl]}: {name}" for lvl, code, name in units}
    chosen = st.selectbox("Đơn vị", list(labels), key="people_unit", format_func=labels.get)
    level, code = chosen.split(":")
    own = listing[(listing["unit_level"] == level) & (listing["unit_code"] == code)][people.EDITED]
    edited = tables.edit(own.reset_index(drop=True), num_rows="dynamic", key="people_editor", width="stretch",
                            column_config={"role": st.column_config.SelectboxColumn(
                                "Vai trò", options=list(people.ROLES), required=True),
                                "full_name": st.column_config.TextColumn("Họ và tên", max_chars=120),
                                "position": st.column_config.TextColumn("Chức vụ", max_chars=120),
                                "phone": st.column_config.TextColumn("Điện thoại", max_chars=15),
                                "email": st.column_config.TextColumn("Thư điện tử (nhận nhắc hạn, báo cáo)",
                                                                     max_chars=254)})
    if st.button("Lưu danh sách", key="people_save", type="primary"):
        try:
            n = people.save_unit(con, user, level, code, pd.DataFrame(edited))
            st.success(f"Đã lưu {n} người của {plain(labels[chosen])}.")
        except XkldError as exc:
            st.error(plain(exc.message))
    st.subheader("Nhập từ tệp XLSX")
    st.download_button("Tải mẫu XLSX", kinds.template_xlsx_of(people.PEOPLE), "mau-nguoi-phu-trach.xlsx",
                       key="people_template")
    limit = settings().max_upload_mb
    upload = st.file_uploader(f"Tệp danh sách (XLSX hoặc CSV, tối đa {limit:.0f} MB)", type=["xlsx", "csv"],
                              key="people_file", max_upload_size=max(1, int(limit)))
    if st.button("Nhập danh sách", key="people_import", disabled=upload is None) and upload is not None:
        try:
            report = people.import_people(con, upload.getvalue(), upload.name, user, settings())
            (st.success if report.outcome == "ok" else st.warning)(plain(report.summary()))
            if report.rejected:
                tables.show(report.rejects, hide_index=True, key="people_rejects")
                st.download_button("Tải các dòng bị từ chối (XLSX)", report.rejects_xlsx(),
                                   "nguoi-phu-trach.bi-tu-choi.xlsx", key="people_rejects_xlsx")
        except XkldError as exc:
            st.error(plain(exc.message))
