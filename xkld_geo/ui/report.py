"""The periodic-report page: choose the period and province, make the DOCX (and PDF), download."""
from __future__ import annotations

import streamlit as st

from xkld_geo.access import scope
from xkld_geo.errors import XkldError
from xkld_geo.figures import queries
from xkld_geo.reporting import document, report
from xkld_geo.ui.common import connection, figures_choice, settings, viewer
from xkld_geo.ui.imports import plain

KIND_LABELS = {"month": "Tháng", "quarter": "Quý", "half": "6 tháng", "year": "Năm"}


def render_report() -> None:
    """Period and province selectors, the button, the downloads."""
    con = connection()
    today = settings().effective_today
    provinces = queries.provinces(con)
    names = dict(zip(provinces["code"], provinces["name"]))
    shown = scope.provinces_shown(con, viewer(), list(provinces["code"]))   # the report lists communes
    if not shown:
        st.error(plain(scope.refusal(viewer(), scope.of(con, viewer()), scope.NATION,
                                     "lập báo cáo định kỳ (có số liệu từng xã)").message))
        return
    province = st.selectbox("Tỉnh/thành", shown, key="report_province", format_func=names.get)
    kind = st.radio("Loại kỳ", list(KIND_LABELS), key="report_kind", format_func=KIND_LABELS.get, horizontal=True)
    year = int(st.selectbox("Năm", list(range(today.year, 2020, -1)), key="report_year"))
    text = str(year)
    if kind == "month":
        text = f"{year}-{int(st.selectbox('Tháng', list(range(1, 13)), key='report_month')):02d}"
    elif kind == "quarter":
        text = f"{year}-Q{st.selectbox('Quý', [1, 2, 3, 4], key='report_quarter')}"
    elif kind == "half":
        text = f"{year}-H{st.selectbox('6 tháng', [1, 2], key='report_half')}"
    approved_only = figures_choice("report_figures", default="approved")   # the official report: approved
    if st.button("Lập báo cáo", key="report_make", type="primary"):
        with st.status("Đang lập báo cáo…", expanded=True) as status:
            try:
                status.write("Tổng hợp số liệu của các xã/phường…")
                data = report.gather(con, report.parse_period(text), province, today, settings().report_due_day,
                                     approved_only=approved_only)
                st.caption(plain(data.approval_note))
                status.write("Viết văn bản, bảng biểu và bản đồ (DOCX)…")
                docx = document.report_docx(data)
                status.write("Chuyển sang PDF…")
                st.session_state["_report_docx"] = (text, province, docx, document.to_pdf(docx))
                status.update(label="Đã lập xong báo cáo: tải về ở dưới.", state="complete", expanded=False)
            except XkldError as exc:
                st.session_state.pop("_report_docx", None)
                status.update(label="Không lập được báo cáo.", state="error")
                st.error(plain(exc.message))
    made = st.session_state.get("_report_docx")
    if made:
        period, code, docx, pdf = made
        st.success(f"Đã lập báo cáo kỳ {period} của {plain(names.get(code, code))}.")
        st.download_button("⬇ Báo cáo (DOCX)", docx, f"bao-cao-{code}-{period}.docx", key="report_docx",
                           mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        if pdf is not None:
            st.download_button("⬇ Báo cáo (PDF)", pdf, f"bao-cao-{code}-{period}.pdf", key="report_pdf",
                               mime="application/pdf")
        else:
            st.caption("Máy chủ chưa cài LibreOffice nên chưa có bản PDF.")
