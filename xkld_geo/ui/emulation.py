"""The year-end emulation page: criteria, scores and levels, approval, proposal downloads."""
from __future__ import annotations

import streamlit as st

from xkld_geo.access import auth, scope
from xkld_geo.errors import XkldError
from xkld_geo.figures import queries
from xkld_geo.reporting import emulation
from xkld_geo.ui import tables
from xkld_geo.ui.common import connection, figures_choice, plain, settings


def _criteria_form(user: auth.User, current: emulation.Criteria) -> None:
    with st.expander("Tiêu chí và trọng số"):
        weights = {k: float(st.number_input(f"Trọng số: {label}", 0.0, 100.0, float(current.weights[k]), 5.0,
                                            key=f"emulation_w_{k}")) for k, label in emulation.CRITERIA_LABELS.items()}
        if auth.allowed(user, "plan_quotas") and st.button("Lưu tiêu chí", key="emulation_save"):
            try:
                emulation.save_criteria(connection(), user, emulation.Criteria(weights, current.targets,
                                                                               current.thresholds,
                                                                               current.excellent_needs_quota))
                st.success("Đã lưu tiêu chí (đã ghi nhật ký).")
            except XkldError as exc:
                st.error(plain(exc.message))


def render_emulation(user: auth.User) -> None:
    """Scores of one province's communes for a year; frozen once approved."""
    con = connection()
    today = settings().effective_today
    provinces = queries.provinces(con)
    names = dict(zip(provinces["code"], provinces["name"]))
    shown = scope.provinces_shown(con, user, list(provinces["code"]))   # the ranking lists communes
    if not shown:
        st.error(plain(scope.refusal(user, scope.of(con, user), scope.NATION, "xem xếp loại thi đua từng xã").message))
        return
    province = st.selectbox("Tỉnh/thành", shown, key="emulation_province", format_func=names.get)
    year = int(st.selectbox("Năm", list(range(today.year, 2024, -1)), key="emulation_year"))
    approved_only = figures_choice("emulation_figures", default="approved")   # the year-end rule: approved
    criteria = emulation.current_criteria(con)
    _criteria_form(user, criteria)
    frozen = emulation.approved(con, year, province)
    title = f"Đề nghị khen thưởng năm {year}, {names[province]}"
    if not len(frozen) and emulation.provisional_note(year, today, settings().report_due_day):
        title += " (tạm tính)"
    if not len(frozen) and not approved_only:
        title += " (gồm số liệu chưa duyệt)"
    if len(frozen):
        st.info(f"Kết quả đã phê duyệt ({frozen['approved_by'].iloc[0]}, {frozen['approved_at'].iloc[0]:%d/%m/%Y}); "
                "không thay đổi.")
        result = frozen.rename(columns={})
    else:
        result = emulation.classify(emulation.inputs(con, year, province, today, settings().report_due_day,
                                                     approved_only), criteria)
        st.caption(plain(emulation.figures_note(con, year, province, today, approved_only)))
    note = None if len(frozen) else emulation.provisional_note(year, today, settings().report_due_day)
    if note:
        st.warning(note)
    shown = result.assign(reason=result["reason"] if "reason" in result else result["explanation"])
    shown = shown[["unit_name", "score", "level", "reason", "explanation"]].rename(columns={
        "unit_name": "Đơn vị", "score": "Điểm", "level": "Xếp loại", "reason": "Lý do xếp loại",
        "explanation": "Giải thích"})
    if note:
        shown["Xếp loại"] = shown["Xếp loại"] + " (tạm tính)"
    tables.show(shown, hide_index=True, width="stretch", key="emulation_table",
                column_config={"Lý do xếp loại": st.column_config.TextColumn(width="large"),
                               "Giải thích": st.column_config.TextColumn(width="large")})
    table = emulation.proposal(result)
    cols = st.columns(2)
    cols[0].download_button("⬇ Đề nghị khen thưởng (XLSX)", emulation.proposal_xlsx(table, title),
                            f"de-nghi-khen-thuong-{year}-{province}.xlsx", key="emulation_xlsx")
    cols[1].download_button("⬇ Đề nghị khen thưởng (DOCX)", emulation.proposal_docx(table, title),
                            f"de-nghi-khen-thuong-{year}-{province}.docx", key="emulation_docx")
    with st.expander("Lịch sử xếp loại các năm (năm trước 1/7/2025 đọc qua bảng chuyển đổi xã cũ → xã mới)"):
        past = emulation.history(con, province, range(max(2021, year - 4), year + 1), today,
                                 settings().report_due_day, criteria)
        tables.show(past.rename(columns={"unit_code": "Mã", "unit_name": "Đơn vị"}), hide_index=True,
                     width="stretch", key="emulation_history")
    if not len(frozen) and note is None and auth.allowed(user, "approve_plans"):
        if not approved_only:
            st.info("Kết quả chính thức chỉ tính số liệu đã duyệt: chọn \"Chỉ số liệu đã duyệt\" để phê duyệt.")
        elif st.button("Phê duyệt và khóa kết quả", key="emulation_approve", type="primary"):
            try:
                emulation.approve(con, user, year, province, result, criteria, today, settings().report_due_day)
                st.success("Đã phê duyệt; kết quả được lưu và không sửa được.")
            except XkldError as exc:
                st.error(plain(exc.message))
