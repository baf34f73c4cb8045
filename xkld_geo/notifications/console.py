"""The administrator's view of the notifications: the outbox by status, the last run of every job,
the provinces' webhooks (:func:`build_outbox`, for the notifications page).

Apart from :mod:`xkld_geo.notifications.subscriptions` (which the notices read to find recipients)
because it reads the scheduler's runs, and the scheduler runs the notices.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from xkld_geo.figures import queries
from xkld_geo.notifications import outbox, scheduler, subscriptions


@dataclass(frozen=True)
class OutboxView:
    """The administrator's view: messages by status, the last run of every job, the webhooks."""

    counts: dict[str, int]
    messages: pd.DataFrame
    jobs: pd.DataFrame
    webhooks: pd.DataFrame
    provinces: dict[str, str]


MESSAGE_COLUMNS = {"created_at": "Lúc tạo", "kind": "Loại", "channel": "Kênh", "recipients": "Người nhận",
                   "subject": "Tiêu đề", "status": "Trạng thái", "attempts": "Số lần thử", "last_error": "Lỗi gần nhất",
                   "next_attempt_at": "Thử lại lúc", "sent_at": "Đã gửi lúc", "attachments": "Tệp đính kèm",
                   "message_id": "Mã thư"}


def build_outbox(con: duckdb.DuckDBPyConnection, status: str | None = None) -> OutboxView:
    """The outbox page of an administrator (the newest messages, optionally of one status)."""
    messages = outbox.listing(con, status)
    shown = messages.assign(kind=messages["kind"].map(subscriptions.KINDS).fillna(messages["kind"]),
                            channel=messages["channel"].map(outbox.CHANNELS).fillna(messages["channel"]),
                            status=messages["status"].map(outbox.STATUS).fillna(messages["status"]))
    table = queries.provinces(con)
    return OutboxView(outbox.counts(con), shown[list(MESSAGE_COLUMNS)].rename(columns=MESSAGE_COLUMNS),
                      scheduler.last_runs(con), subscriptions.webhooks(con), dict(zip(table["code"], table["name"])))
