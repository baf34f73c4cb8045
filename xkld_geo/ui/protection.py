"""Pages of citizen protection: the register of cases (map of open cases, ageing, companies, the
list and its state changes) and the families' clubs and returnees. Figures come from the
``build_*()`` views of :mod:`xkld_geo.protection`; only planners and administrators move a case or
see its internal note (``handle_cases``)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from xkld_geo import maps
from xkld_geo.access import auth, scope
from xkld_geo.errors import XkldError
from xkld_geo.figures import metrics, queries
from xkld_geo.protection import alarms, casebook, cases, clubs, problems, returnees
from xkld_geo.ui import tables
from xkld_geo.ui.common import Filters, connection, demo_badge, plain, repainting_map, settings


def _map(con: object, f: Filters, values: pd.Series, legend: str, title: str, label: str, key: str,
         is_demo: bool) -> None:
    """A choropleth of ``values`` (by unit code) over provinces, or over the province's communes."""
    level = "province" if f.province is None else "commune"
    shapes = queries.shapes(con, "2025", level, "coarse" if f.province is None else "fine", f.province)
    props = pd.DataFrame({"value": values}).reindex(shapes["code"])
    props["fill"] = [maps.colour_for(v, maps.LEGENDS[legend][:-1]) for v in props["value"]]
    spec = maps.ChoroplethSpec(shapes, props, None, title, is_demo, classes=legend,
                               tooltip=(("value", label, ""),))
    repainting_map(spec, key, 520)


def _move_form(con: object, view: casebook.CasesView, user: auth.User) -> None:
    """Move one open case to an allowed status (audited), for planners and administrators."""
    open_refs = view.cases.loc[view.cases["status"] != "closed", ["case_ref", "status"]]
    if open_refs.empty:
        return
    with st.form("case_move_form"):
        st.markdown("**Chuyển trạng thái vụ việc** (mỗi lần chuyển được ghi nhật ký)")
        ref = st.selectbox("Vụ việc", list(open_refs["case_ref"]), key="case_move_ref")
        current = str(open_refs.set_index("case_ref").at[ref, "status"])
        target = st.selectbox("Chuyển sang", list(cases.CASE_STATUSES[1:]), key="case_move_status",
                              format_func=cases.STATUS_LABELS.get)
        agency = st.text_input("Cơ quan giải quyết (để trống: giữ nguyên)", key="case_move_agency")
        outcome = st.text_input("Kết quả (bắt buộc khi kết thúc)", key="case_move_outcome")
        note = st.text_area("Ghi chú nội bộ (không công khai; không ghi họ tên)", key="case_move_note")
        if st.form_submit_button("Lưu"):
            try:
                cases.move(con, ref, target, user.username, settings().effective_today, agency=agency or None,
                           outcome=outcome or None, note=note or None, actor=user)
                st.success(plain(f"Vụ việc {ref}: {cases.STATUS_LABELS[current]} → {cases.STATUS_LABELS[target]}."))
            except XkldError as exc:
                st.error(plain(exc.message))


def _record_form(con: object, f: Filters, user: auth.User) -> None:
    """Record a new case (received, audited) in a commune of the selected province."""
    if f.province is None:
        st.caption("Chọn một tỉnh để ghi vụ việc mới.")
        return
    today = settings().effective_today
    units = casebook.open_by_unit(con, f.province, today)     # every commune of the province
    names = dict(zip(units["unit_code"], units["unit_name"]))
    with st.form("case_record_form"):
        st.markdown("**Ghi vụ việc mới** (không ghi họ tên, số CCCD của người lao động)")
        kind = st.selectbox("Loại vụ việc", list(cases.KIND_LABELS), key="case_new_kind",
                            format_func=cases.KIND_LABELS.get)
        commune = st.selectbox("Xã/phường", list(names), key="case_new_commune", format_func=names.get,
                               index=list(names).index(f.commune) if f.commune in names else 0)
        market = st.text_input("Thị trường (mã nước, ví dụ JP)", "JP", key="case_new_market")
        licence = st.text_input("Số giấy phép doanh nghiệp (nếu có)", key="case_new_licence")
        opened = st.date_input("Ngày tiếp nhận", today, max_value=today, key="case_new_day")
        agency = st.text_input("Cơ quan giải quyết", key="case_new_agency")
        note = st.text_area("Ghi chú nội bộ", key="case_new_note")
        if st.form_submit_button("Ghi vụ việc"):
            try:
                ref = cases.next_ref(con, opened.year)
                cases.record(con, cases.NewCase(ref, kind, opened, commune, market.strip().upper(),
                                                licence.strip() or None, agency or None, note or None),
                             user.username, today, actor=user)
                st.success(plain(f"Đã ghi vụ việc {ref}."))
            except XkldError as exc:
                st.error(plain(exc.message))


def _alarms(view: casebook.CasesView) -> None:
    """Early warning: clusters above what each commune's and company's history predicts."""
    st.markdown("**Cảnh báo sớm: cụm lừa đảo, vi phạm hợp đồng, cư trú bất hợp pháp**")
    st.caption(plain(f"{alarms.METHOD} {alarms.DATA} {view.alarm_record}"
                     + (" Dữ liệu minh họa." if view.is_demo else "")))
    if view.alarms.empty:
        st.success("Không có cụm vụ việc nào vượt mức lịch sử dự đoán trong các tháng gần đây.")
    else:
        st.warning(plain(f"{len(view.alarms)} cảnh báo: số vụ vượt xa mức thường thấy của đơn vị."))
        st.dataframe(alarms.table(view.alarms), hide_index=True, width="stretch", key="cases_alarms")


def render_cases(f: Filters, user: auth.User) -> None:
    """The register of cases: open cases on the map, ageing, companies, the list, the state changes."""
    con = connection()
    today = settings().effective_today
    handler = auth.allowed(user, "handle_cases")
    try:   # the register is commune-level detail: inside the account's scope only
        province = scope.detail_province(con, user, f.province)
    except XkldError as exc:
        st.error(plain(exc.message))
        return
    f = Filters(f.year, f.month, province, f.commune)
    view = casebook.build_cases(con, f.province, today, with_notes=handler, viewer=user)
    demo_badge(view.is_demo)
    cols = st.columns(4)
    cols[0].metric("Vụ việc đang mở", metrics.fmt_int(view.open_total))
    cols[1].metric("Tổng số vụ việc", metrics.fmt_int(len(view.cases)))
    cols[2].metric("Mở từ 90 ngày trở lên", metrics.fmt_int(int(view.ageing["open_cases"].iloc[2:].sum())))
    cols[3].metric("Doanh nghiệp bị cảnh báo", metrics.fmt_int(int(view.companies["repeated"].sum())))
    st.caption(problems.RULE)
    _alarms(view)
    if scope.of(con, user).level != "commune":   # a commune's officer: its own cases, no map of its neighbours
        _map(con, f, view.open_by_unit.set_index("unit_code")["open_cases"], "open_cases", "Vụ việc đang mở",
             "Vụ việc đang mở", "cases_map", view.is_demo)
    st.markdown("**Thời gian mở của các vụ việc chưa kết thúc**")
    tables.show(view.ageing.rename(columns={"band": "Số ngày mở", "open_cases": "Số vụ việc"}), hide_index=True,
                 key="cases_ageing")
    st.markdown(f"**Vụ việc theo doanh nghiệp** (cảnh báo: từ {cases.REPEATED} vụ lừa đảo hoặc vi phạm trở lên)")
    if view.companies.empty:
        st.info("Chưa có vụ việc nào gắn với doanh nghiệp.")
    else:
        tables.show(casebook.company_table(view), hide_index=True, width="stretch", key="cases_companies")
    st.markdown("**Danh sách vụ việc** (không có họ tên người lao động)")
    tables.show(casebook.table(view), hide_index=True, width="stretch", key="cases_table")
    if handler:
        _record_form(con, f, user)
        _move_form(con, view, user)
        st.markdown("**Các lần chuyển trạng thái gần đây** (nhật ký)")
        tables.show(view.changes.rename(columns={"at_time": "Thời điểm", "username": "Tài khoản", "action": "Việc",
                                                  "case_ref": "Mã vụ việc", "detail": "Chi tiết"}),
                     hide_index=True, width="stretch", key="cases_changes")


def render_clubs_returnees(f: Filters) -> None:
    """Families' clubs of the year, and returnees with the occupation they return to."""
    con = connection()
    club_tab, back_tab = st.tabs(["Câu lạc bộ gia đình", "Người về nước"])
    with club_tab:
        view = clubs.build_clubs(con, f.year, f.province)
        demo_badge(view.is_demo)
        cols = st.columns(4)
        cols[0].metric("Xã có câu lạc bộ", f"{view.with_club}/{view.communes}")
        cols[1].metric("Tỷ lệ xã có câu lạc bộ", metrics.fmt_pct(view.covered_pct))
        cols[2].metric("Gia đình thành viên", metrics.fmt_int(view.members))
        cols[3].metric("Buổi sinh hoạt", metrics.fmt_int(view.meetings))
        tables.show(clubs.table(view), hide_index=True, width="stretch", key="clubs_table")
    with back_tab:
        back = returnees.build_returnees(con, f.year, f.month, f.province)
        demo_badge(back.is_demo)
        cols = st.columns(3)
        cols[0].metric(f"Về nước tháng 1–{f.month}/{f.year}", metrics.fmt_int(back.returned))
        cols[1].metric("Đã có việc làm", metrics.fmt_int(back.found_work))
        cols[2].metric("Tỷ lệ có việc làm", metrics.fmt_pct(back.found_pct))
        st.caption("Nguồn nhân lực chất lượng cao sau khi về nước: nghề người lao động về làm và việc làm sau khi về.")
        tables.show(back.by_occupation.drop(columns="is_demo").rename(columns={
            "occupation": "Nghề", "returned": "Số người về", "found_work": "Đã có việc làm",
            "found_pct": "Tỷ lệ có việc làm (%)"}).round(1), hide_index=True, width="stretch", key="returnees_occupation")
        tables.show(back.by_unit.rename(columns={
            "unit_code": "Mã", "unit_name": "Tên", "returned": "Số người về", "found_work": "Đã có việc làm",
            "found_pct": "Tỷ lệ có việc làm (%)"}).round(1), hide_index=True, width="stretch", key="returnees_units")
