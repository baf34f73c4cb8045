"""The commune's monthly report page: the form (commune officers) and its review (the province).

Built for a phone and a slow connection: the figures are one ``st.form`` (one round trip when
saved or sent), a departure line is added by a small form of its own, and each added line saves
the draft on the server at once, so nothing typed is lost between visits.
"""
from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd
import streamlit as st

from xkld_geo.access import auth
from xkld_geo.errors import XkldError
from xkld_geo.reporting import approval, monthly
from xkld_geo.ui.common import connection, plain, settings

FORM_KEY = "monthly_form_lines"


def _months(today: dt.date, n: int = 13) -> list[dt.date]:
    first = dt.date(today.year, today.month, 1)
    out = []
    for _ in range(n):
        out.append(first)
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return out


def _lines_table(form: monthly.Form, c: monthly.Choices) -> pd.DataFrame:
    return pd.DataFrame([{"Thị trường": c.markets.get(x.market, x.market), "Giới tính": c.sexes.get(x.sex, x.sex),
                          "Nhóm ưu tiên": c.groups.get(x.group, x.group), "Hình thức": c.channels.get(x.channel, x.channel),
                          "Số người": x.count} for x in form.lines])


def render_monthly(user: auth.User) -> None:
    """Choose the commune and month, then the form and/or the review queue."""
    con = connection()
    today = settings().effective_today
    if auth.allowed(user, "report_monthly"):
        communes = monthly.communes_for(con, user)
        if communes.empty:
            st.info("Tài khoản này không có xã nào trong phạm vi để lập báo cáo.")
        else:
            names = dict(zip(communes["commune_code"], communes["commune_name"]))
            cols = st.columns(2)
            commune = cols[0].selectbox("Xã", list(names), key="monthly_commune", format_func=lambda c: names[c])
            month = cols[1].selectbox("Tháng", _months(today), key="monthly_month", format_func=lambda m: f"{m:%m/%Y}")
            _form(con, user, commune, month, today)
    if auth.allowed(user, "approve_reports"):
        _review(con, user, today)


def _form(con: duckdb.DuckDBPyConnection, user: auth.User, commune: str, month: dt.date, today: dt.date) -> None:
    try:
        view = monthly.build_form_view(con, user, commune, month, today)
    except XkldError as exc:
        st.error(plain(exc.message))
        return
    st.subheader(f"{plain(view.commune_name)}, tháng {view.month:%m/%Y}")
    st.markdown(f"Trạng thái: **{view.state_label}**")
    if view.state and view.state.state == "returned" and view.state.review_comment:
        st.warning(f"Tỉnh trả lại: {plain(view.state.review_comment)}")
    if view.state and view.state.warnings:
        st.caption("Cảnh báo khi gửi: " + plain(" ".join(view.state.warnings)))
    if not view.editable:
        st.info(plain(view.reason or ""))
        st.dataframe(_lines_table(view.form, view.choices), hide_index=True, width="stretch", key="monthly_lines_ro")
        return
    slot = (commune, f"{month:%Y-%m}")
    held = st.session_state.get(FORM_KEY)
    if not held or held[0] != slot:
        held = (slot, view.form)
        st.session_state[FORM_KEY] = held
    form: monthly.Form = held[1]
    c = view.choices
    st.markdown("**1. Người xuất cảnh theo thị trường, giới tính, nhóm ưu tiên**")
    if form.lines:
        st.dataframe(_lines_table(form, c), hide_index=True, width="stretch", key="monthly_lines")
    with st.form("monthly_add_line", clear_on_submit=True):
        a, b = st.columns(2)
        market = a.selectbox("Thị trường", list(c.markets), key="line_market", format_func=c.markets.get)
        sex = b.selectbox("Giới tính", list(c.sexes), key="line_sex", format_func=c.sexes.get)
        group = a.selectbox("Nhóm ưu tiên", list(c.groups), key="line_group", format_func=c.groups.get)
        channel = b.selectbox("Hình thức", list(c.channels), key="line_channel", format_func=c.channels.get)
        count = st.number_input("Số người", min_value=0, max_value=monthly.COUNT_MAX, step=1, value=0, key="line_count")
        if st.form_submit_button("Thêm dòng"):
            form.lines.append(monthly.Line(market, sex, group, channel, int(count)))
            _save(con, user, commune, month, form, None, quiet=True)
            st.rerun()
    if form.lines:
        cols = st.columns([3, 1])
        gone = cols[0].selectbox("Xóa dòng số", list(range(1, len(form.lines) + 1)), key="line_drop")
        if cols[1].button("Xóa", key="line_drop_button"):
            form.lines.pop(int(gone) - 1)
            _save(con, user, commune, month, form, None, quiet=True)
            st.rerun()
    stored_comment = view.state.officer_comment if view.state else None
    with st.form("monthly_figures"):
        st.markdown("**2. Số liệu của tháng**")
        values = {}
        for key, label in monthly.COUNTS.items():
            values[key] = st.number_input(label, min_value=0, max_value=monthly.COUNT_MAX, step=1,
                                          value=int(form.counts.get(key, 0)), key=f"monthly_{key}")
        amount = st.number_input(monthly.AMOUNT_LABEL, min_value=0.0, step=1.0, value=float(form.loan_amount),
                                 key="monthly_loan_amount")
        comment = st.text_area("Ghi chú xác nhận (bắt buộc khi số liệu bất thường)", value=stored_comment or "",
                               key="monthly_comment", max_chars=approval.MAX_COMMENT)
        save = st.form_submit_button("Lưu nháp")
        send = st.form_submit_button("Gửi báo cáo", type="primary")
    if save or send:
        form.counts = {k: int(v) for k, v in values.items()}
        form.loan_amount = float(amount)
        if save:
            _save(con, user, commune, month, form, comment)
        else:
            try:
                monthly.submit(con, user, commune, month, form, comment, settings(), today)
                st.session_state.pop(FORM_KEY, None)
                st.success(f"Đã gửi báo cáo tháng {month:%m/%Y}; chờ tỉnh phê duyệt.")
            except XkldError as exc:
                st.error(plain(exc.message))
    if len(view.history):
        with st.expander("Các bước của báo cáo này"):
            st.dataframe(_history(view.history), hide_index=True, width="stretch", key="monthly_history")


def _history(history: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"Thời điểm": history["at_time"], "Tài khoản": history["username"],
                         "Việc": history["action"].map(approval.ACTIONS),
                         "Trạng thái": history["to_state"].map(approval.STATES), "Ghi chú": history["comment"]})


def _save(con: duckdb.DuckDBPyConnection, user: auth.User, commune: str, month: dt.date, form: monthly.Form, comment: str | None,
          quiet: bool = False) -> None:
    try:
        monthly.save_draft(con, user, commune, month, form, comment)
        if not quiet:
            st.success("Đã lưu nháp.")
    except XkldError as exc:
        st.error(plain(exc.message))


def _review(con: duckdb.DuckDBPyConnection, user: auth.User, today: dt.date) -> None:
    """The reviewer's queue: approve, return with a comment, un-approve with a reason."""
    st.subheader("Duyệt báo cáo tháng của các xã")
    done = st.session_state.pop("_review_done", None)
    if done:
        st.success(done)
    month = st.selectbox("Tháng", _months(today), key="review_month", format_func=lambda m: f"{m:%m/%Y}")
    queue = approval.queue(con, user, month)
    if queue.empty:
        st.info("Chưa có báo cáo nào của tháng này trong phạm vi của tài khoản.")
        return
    shown = pd.DataFrame({"Mã xã": queue["commune_code"], "Xã": queue["commune_name"],
                          "Trạng thái": queue["state"].map(approval.STATES),
                          "Nguồn": queue["source"].map({"form": "Biểu mẫu", "import": "Nhập tệp"}),
                          "Cảnh báo": [" ".join(json.loads(w or "[]")) for w in queue["warnings"]],
                          "Ghi chú của xã": queue["officer_comment"], "Ý kiến duyệt": queue["review_comment"]})
    st.dataframe(shown, hide_index=True, width="stretch", key="review_table")
    labels = dict(zip(queue["commune_code"], queue["commune_name"]))
    commune = st.selectbox("Xã", list(labels), key="review_commune", format_func=lambda c: f"{labels[c]} ({c})")
    comment = st.text_area("Ý kiến (bắt buộc khi trả lại hoặc hủy phê duyệt)", key="review_comment",
                           max_chars=approval.MAX_COMMENT)
    cols = st.columns(3)
    actions = {"approve": (cols[0], "Phê duyệt"), "return": (cols[1], "Trả lại"), "unapprove": (cols[2], "Hủy phê duyệt")}
    for action, (col, label) in actions.items():
        if col.button(label, key=f"review_{action}"):
            try:
                if action == "approve":
                    approval.approve(con, user, month, commune)
                elif action == "return":
                    approval.return_month(con, user, month, commune, comment)
                else:
                    approval.unapprove(con, user, month, commune, comment)
                st.session_state["_review_done"] = f"{label}: {plain(labels[commune])}, tháng {month:%m/%Y}."
                st.rerun()
            except XkldError as exc:
                st.error(plain(exc.message))
