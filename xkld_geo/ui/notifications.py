"""The notifications page: each user's address, followed province and kinds received; for
administrators, in tabs of their own, the outbox (sent, waiting, failed with the reason; resend),
the last run of every job and the provinces' webhooks."""
from __future__ import annotations

import streamlit as st

from xkld_geo.access import auth
from xkld_geo.errors import XkldError
from xkld_geo.notifications import console, outbox, subscriptions
from xkld_geo.ui import tables
from xkld_geo.ui.common import connection, plain, settings

NO_PROVINCE = ""


def render_notifications(user: auth.User) -> None:
    """The user's subscriptions; the administrator's outbox, job runs and webhooks."""
    if auth.allowed(user, "manage_users"):
        mine, box, jobs, hooks = st.tabs(["Đăng ký nhận", "Hộp thư đi", "Lịch chạy", "Webhook của tỉnh"])
        with mine:
            _subscriptions(user)
        view = console.build_outbox(connection(), None)
        with box:
            _outbox(user, view)
        with jobs:
            _jobs(view)
        with hooks:
            _webhooks(user, view)
    else:
        _subscriptions(user)


def _subscriptions(user: auth.User) -> None:
    con = connection()
    view = subscriptions.build_subscriptions(con, user)
    st.subheader("Thư tôi nhận")
    st.caption("Nhắc hạn và báo chưa nhận báo cáo gửi tới người phụ trách của từng xã; tổng hợp của tỉnh, báo cáo "
               "định kỳ và thông báo tiến độ gửi tới người phụ trách của tỉnh và những tài khoản đăng ký dưới đây.")
    options = [NO_PROVINCE] + list(view.provinces)
    with st.form("notify_contact"):
        email = st.text_input("Địa chỉ thư điện tử (để trống: không nhận thư)", view.email, max_chars=254,
                              key="notify_email")
        province = st.selectbox("Tỉnh theo dõi (tổng hợp, báo cáo định kỳ, tiến độ)", options,
                                index=options.index(view.province) if view.province in options else 0,
                                format_func=lambda c: view.provinces.get(c, "— không theo dõi tỉnh nào —"),
                                key="notify_province")
        if st.form_submit_button("Lưu địa chỉ"):
            try:
                subscriptions.save_contact(con, user, email, province or None)
                st.success("Đã lưu.")
                view = subscriptions.build_subscriptions(con, user)
            except XkldError as exc:
                st.error(plain(exc.message))
    for row in view.kinds.itertuples(index=False):
        label = row.label + (f" ({row.note})" if row.note else "")
        on = st.toggle(label, value=bool(row.enabled), key=f"notify_kind_{row.kind}")
        if on != bool(row.enabled):
            try:
                subscriptions.set_subscription(con, user, str(row.kind), on)
                st.toast("Đã lưu lựa chọn.")
            except XkldError as exc:
                st.error(plain(exc.message))
    if not view.as_person.empty:
        st.markdown("**Nhận với tư cách người phụ trách** (theo địa chỉ thư trong danh sách người phụ trách):")
        tables.show(view.as_person, hide_index=True, width="stretch", key="notify_as_person")


def _outbox(user: auth.User, view: console.OutboxView) -> None:
    cols = st.columns(len(view.counts))
    for col, (status, count) in zip(cols, view.counts.items()):
        col.metric(outbox.STATUS[status], f"{count:,}".replace(",", "."))
    cfg = settings()
    if not cfg.smtp_host:
        st.warning("Chưa đặt máy chủ thư (XKLD_SMTP_HOST): thư điện tử chờ trong hộp thư đi cho đến khi có.")
    tables.show(view.messages, hide_index=True, width="stretch", key="outbox_table")
    ids = list(view.messages["Mã thư"])
    if ids:
        chosen = st.selectbox("Thư cần gửi lại", ids, key="outbox_resend_id",
                              format_func=lambda i: _label(view, i))
        if st.button("Gửi lại", key="outbox_resend"):
            try:
                outbox.resend(connection(), user, chosen)
                st.success("Thư đã vào hàng chờ gửi lại.")
            except XkldError as exc:
                st.error(plain(exc.message))


def _label(view: console.OutboxView, message_id: str) -> str:
    row = view.messages[view.messages["Mã thư"] == message_id].iloc[0]
    return f"{row['Trạng thái']} · {row['Người nhận']} · {row['Tiêu đề']}"[:160]


def _jobs(view: console.OutboxView) -> None:
    st.caption(f"Các việc chạy hằng ngày lúc {settings().worker_run_at}; mỗi việc một lần mỗi ngày dù có nhiều bản "
               "sao ứng dụng.")
    tables.show(view.jobs, hide_index=True, width="stretch", key="jobs_table")


def _webhooks(user: auth.User, view: console.OutboxView) -> None:
    st.caption("Tin nhắn của tỉnh (nhắc hạn, chưa nhận, tổng hợp, tiến độ) được gửi thêm dạng JSON có chữ ký "
               "HMAC-SHA256 (khóa XKLD_WEBHOOK_SECRET) tới cổng SMS/Zalo của tỉnh.")
    tables.show(view.webhooks, hide_index=True, width="stretch", key="webhooks_table")
    with st.form("webhook_form"):
        province = st.selectbox("Tỉnh", list(view.provinces), format_func=view.provinces.get, key="webhook_province")
        url = st.text_input("Địa chỉ webhook (để trống: xóa)", max_chars=2000, key="webhook_url")
        enabled = st.checkbox("Đang dùng", value=True, key="webhook_enabled")
        if st.form_submit_button("Lưu webhook"):
            try:
                subscriptions.save_webhook(connection(), user, province, url, enabled)
                st.success("Đã lưu.")
            except XkldError as exc:
                st.error(plain(exc.message))
