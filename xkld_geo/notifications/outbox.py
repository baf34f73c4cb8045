"""The transactional outbox: messages written in the transaction of the event that causes them,
sent later by :func:`send_due`, once.

A message is put in by :func:`enqueue` *inside the caller's transaction* (a job's run, an approval):
it exists exactly when its event does. Its ``idempotency_key`` (UNIQUE) names what it is about
(kind, period, unit, channel, recipient), so a job run twice, or by two replicas, puts it in once.

Delivery, per message: ``waiting`` → (claimed) ``sending`` → ``sent``; a failure puts it back to
``waiting`` with the error and a growing back-off (``outbox_backoff_s`` doubled per attempt, at most
``outbox_backoff_max_s``), and after ``outbox_max_attempts`` to ``failed``, shown with its error
until an administrator sends it again (:func:`resend`). A claim is one conditional UPDATE: on
PostgreSQL over ``FOR UPDATE SKIP LOCKED`` (replicas take disjoint messages and never wait for each
other), on the embedded DuckDB guarded by ``status = 'waiting'`` (DuckDB refuses the second of two
conflicting writers). A claim holds a lease (``outbox_lease_s``).

**At most once across a crash.** The one window no database can close is between the channel
accepting a message (SMTP's 250 after DATA, the webhook's 2xx) and the UPDATE that marks it sent.
Just before a message is handed to its channel its ``handed_at`` is written. A sender that dies
leaves its claims ``sending`` with an expired lease; the next pass puts those never handed over
back to ``waiting`` (nothing left, so sending them is safe), and marks the one that was in flight
``unknown`` ("có thể đã gửi") without sending it again: a duplicate reminder or report is worse
for the people who receive them than one an administrator resends after looking. Every
failure the sender sees (refused, timed out, server down) is retried, so apart from that window
delivery is at least once, and both channels carry the message's id (the e-mail's Message-ID, the
webhook's ``X-XKLD-Idempotency-Key``) for a receiver that deduplicates.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import duckdb
import pandas as pd

from xkld_geo.access import auth
from xkld_geo.database import db, store
from xkld_geo.errors import QueryError
from xkld_geo.notifications import channels
from xkld_geo.notifications.messages import Attachment, Claimed, Message
from xkld_geo.settings import Settings

log = logging.getLogger("xkld_geo.notifications.outbox")

STATUS: dict[str, str] = {"waiting": "Đang chờ gửi", "sending": "Đang gửi", "sent": "Đã gửi",
                          "failed": "Gửi không được", "unknown": "Không rõ (có thể đã gửi)"}
CHANNELS: dict[str, str] = {"email": "Thư điện tử", "webhook": "Webhook (SMS/Zalo)"}
REQUEUED = "Tiến trình gửi bị dừng trước khi gửi thư này; thư được gửi lại."
UNKNOWN_ERROR = ("Tiến trình gửi bị dừng giữa lúc gửi và lúc ghi nhận; thư có thể đã đến người nhận nên không "
                 "tự gửi lại. Kiểm tra rồi bấm 'Gửi lại' nếu cần.")


def worker_id() -> str:
    """This process, as it is written in ``claimed_by`` and ``job_runs.worker``: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def enqueue(con: duckdb.DuckDBPyConnection, message: Message, now: dt.datetime | None = None) -> str | None:
    """Put ``message`` in the outbox, in the caller's transaction (none is opened here), unless a
    message with its idempotency key is already there. Returns the new message's id, or None."""
    assert message.channel in CHANNELS, message.channel
    if db.value(con, "outbox_has_key", "SELECT 1 FROM outbox WHERE idempotency_key = $k",
                {"k": message.idempotency_key}):
        return None
    at = now or dt.datetime.now()
    message_id = uuid.uuid4().hex
    db.execute(con, "outbox_insert", """
        INSERT INTO outbox (message_id, idempotency_key, channel, recipients, subject, body_text, body_html, payload,
                            kind, unit_code, period, event, status, attempts, next_attempt_at, created_at)
        VALUES ($id, $key, $channel, $to, $subject, $text, $html, $payload, $kind, $unit, $period, $event,
                'waiting', 0, $at, $at)""",
               {"id": message_id, "key": message.idempotency_key, "channel": message.channel,
                "to": json.dumps(list(message.recipients), ensure_ascii=False), "subject": message.subject,
                "text": message.body_text, "html": message.body_html,
                "payload": json.dumps(message.payload, ensure_ascii=False, default=str), "kind": message.kind,
                "unit": message.unit_code, "period": message.period, "event": message.event, "at": at})
    for seq, a in enumerate(message.attachments, start=1):
        db.execute(con, "outbox_attachment_insert", """
            INSERT INTO outbox_attachments VALUES ($id, $seq, $name, $type, $content)""",
                   {"id": message_id, "seq": seq, "name": a.file_name, "type": a.content_type, "content": a.content})
    return message_id


def atomic_rows(con: duckdb.DuckDBPyConnection, settings: Settings, name: str, sql: str,
          params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """A state change of the outbox or the job runs that must be atomic across replicas: on
    PostgreSQL itself (psycopg), on the embedded DuckDB through ``con``. Returns the RETURNING rows."""
    if store.enabled(settings):
        return store.pg_rows(settings, name, sql, params)
    df = db.run(con, name, sql, params)
    return [tuple(r) for r in df.itertuples(index=False, name=None)]


def recover(con: duckdb.DuckDBPyConnection, settings: Settings, now: dt.datetime | None = None) -> int:
    """Recover the messages still ``sending`` after their lease ran out (their sender died): back to
    ``waiting`` if never handed to the channel, else ``unknown`` (see the module's note); returns
    how many became unknown."""
    rows = atomic_rows(con, settings, "outbox_recover", """
        UPDATE outbox SET status = CASE WHEN handed_at IS NULL THEN 'waiting' ELSE 'unknown' END,
                          last_error = CASE WHEN handed_at IS NULL THEN $requeued ELSE $error END, lease_until = NULL
        WHERE status = 'sending' AND lease_until < $now RETURNING message_id, status""",
                       {"now": now or dt.datetime.now(), "error": UNKNOWN_ERROR, "requeued": REQUEUED})
    unknown = [r[0] for r in rows if r[1] == "unknown"]
    if rows:
        log.error("outbox: a crashed sender left %d message(s) 'sending': %d put back, unknown: %s", len(rows),
                  len(rows) - len(unknown), unknown)
    return len(unknown)


def claim(con: duckdb.DuckDBPyConnection, settings: Settings, limit: int = 50,
          now: dt.datetime | None = None, worker: str | None = None) -> list[str]:
    """Take up to ``limit`` waiting messages whose time has come; returns their ids (possibly none:
    another sender took them). A channel that is not configured (no ``smtp_host``, no
    ``webhook_secret``) is left alone: its messages wait, their attempts untouched, until it is."""
    at = now or dt.datetime.now()
    lock = "FOR UPDATE SKIP LOCKED" if store.enabled(settings) else ""
    params = {"now": at, "until": at + dt.timedelta(seconds=settings.outbox_lease_s), "n": int(limit),
              "me": worker or worker_id(), "email": bool(settings.smtp_host), "webhook": bool(settings.webhook_secret)}
    try:
        rows = atomic_rows(con, settings, "outbox_claim", f"""
            UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease_until = $until, claimed_by = $me,
                              handed_at = NULL
            WHERE message_id IN (SELECT message_id FROM outbox WHERE status = 'waiting' AND next_attempt_at <= $now
                                   AND ((channel = 'email' AND $email) OR (channel = 'webhook' AND $webhook))
                                 ORDER BY created_at, message_id LIMIT $n {lock})
              AND status = 'waiting'
            RETURNING message_id""", params)
    except duckdb.TransactionException:   # another sender of this process claimed at the same moment
        return []
    return [str(r[0]) for r in rows]


def load(con: duckdb.DuckDBPyConnection, message_ids: Iterable[str]) -> list[Claimed]:
    """The claimed messages with their attachments, oldest first."""
    ids = list(message_ids)
    if not ids:
        return []
    rows = db.run(con, "outbox_load", """
        SELECT message_id, idempotency_key, channel, recipients, subject, body_text, body_html, payload, kind,
               unit_code, period, attempts, created_at
        FROM outbox WHERE list_contains($ids, message_id) ORDER BY created_at, message_id""", {"ids": ids})
    files = db.run(con, "outbox_load_attachments", """
        SELECT message_id, file_name, content_type, content FROM outbox_attachments
        WHERE list_contains($ids, message_id) ORDER BY message_id, seq""", {"ids": ids})
    by_message: dict[str, list[Attachment]] = {}
    for r in files.itertuples(index=False):
        by_message.setdefault(str(r.message_id), []).append(Attachment(str(r.file_name), str(r.content_type),
                                                                       bytes(r.content)))
    return [Claimed(str(r.message_id), str(r.idempotency_key), str(r.channel), tuple(json.loads(r.recipients)),
                    str(r.subject), str(r.body_text), None if pd.isna(r.body_html) else str(r.body_html),
                    json.loads(r.payload) if isinstance(r.payload, str) and r.payload else {}, str(r.kind),
                    None if pd.isna(r.unit_code) else str(r.unit_code), None if pd.isna(r.period) else str(r.period),
                    int(r.attempts), pd.Timestamp(r.created_at).to_pydatetime(),
                    tuple(by_message.get(str(r.message_id), ())))
            for r in rows.itertuples(index=False)]


def mark_handed(con: duckdb.DuckDBPyConnection, message_id: str, worker: str | None = None,
                now: dt.datetime | None = None) -> None:
    """Record that this attempt is being handed to its channel (from here on a crash leaves its fate
    unknown, see the module's note)."""
    db.execute(con, "outbox_mark_handed", """
        UPDATE outbox SET handed_at = $now WHERE message_id = $id AND status = 'sending' AND claimed_by = $me""",
               {"id": message_id, "now": now or dt.datetime.now(), "me": worker or worker_id()})


def mark_sent(con: duckdb.DuckDBPyConnection, message_id: str, delivery_id: str, worker: str | None = None,
              now: dt.datetime | None = None) -> None:
    """Record a delivery (only a claim of this sender's is marked)."""
    db.execute(con, "outbox_mark_sent", """
        UPDATE outbox SET status = 'sent', sent_at = $now, delivery_id = $delivery, last_error = NULL,
                          lease_until = NULL
        WHERE message_id = $id AND status = 'sending' AND claimed_by = $me""",
               {"id": message_id, "delivery": delivery_id, "now": now or dt.datetime.now(),
                "me": worker or worker_id()})


def backoff(settings: Settings, attempts: int) -> dt.timedelta:
    """Wait before the next attempt after ``attempts`` failed ones (doubling, capped)."""
    seconds = settings.outbox_backoff_s * (2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=min(seconds, settings.outbox_backoff_max_s))


def mark_failed(con: duckdb.DuckDBPyConnection, settings: Settings, message: Claimed, error: str,
                permanent: bool = False, worker: str | None = None, now: dt.datetime | None = None) -> str:
    """Record a failed attempt: back to ``waiting`` after the back-off, or ``failed`` when the error
    is permanent or the attempts are used up. Returns the new status."""
    at = now or dt.datetime.now()
    status = "failed" if permanent or message.attempts >= settings.outbox_max_attempts else "waiting"
    db.execute(con, "outbox_mark_failed", """
        UPDATE outbox SET status = $status, last_error = $error, next_attempt_at = $next, lease_until = NULL
        WHERE message_id = $id AND status = 'sending' AND claimed_by = $me""",
               {"id": message.message_id, "status": status, "error": error[:1000],
                "next": at + backoff(settings, message.attempts), "me": worker or worker_id()})
    return status


@dataclass
class SendReport:
    """What one pass of the sender did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    unknown: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"Đã gửi {self.sent} thư; {self.retried} thư chờ gửi lại; {self.failed} thư không gửi được"
        if self.unknown:
            text += f"; {self.unknown} thư không rõ đã gửi chưa (tiến trình gửi bị dừng)"
        if self.errors:
            return text + ". Lỗi: " + " ".join(self.errors)
        return text + "."


Deliver = Callable[[Claimed], str]


def send_due(con: duckdb.DuckDBPyConnection, settings: Settings, limit: int = 200,
             now: Callable[[], dt.datetime] = dt.datetime.now) -> SendReport:
    """One pass of the sender: recover crashed claims, claim what is due, deliver each message
    through its channel and mark it (:mod:`xkld_geo.notifications.channels`)."""
    if not settings.smtp_host and not settings.webhook_secret:   # no channel configured: everything waits
        return SendReport()
    report = SendReport(unknown=recover(con, settings, now()))
    me = worker_id()
    claimed = load(con, claim(con, settings, limit, now(), me))
    if not claimed:
        return report
    with channels.Senders(settings) as senders:
        for message in claimed:
            mark_handed(con, message.message_id, me, now())
            try:
                delivery_id = senders.deliver(message)
            except Exception as exc:   # a DeliveryError says what happened; anything else is recorded as is
                failure = exc if isinstance(exc, channels.DeliveryError) else channels.DeliveryError(
                    f"Lỗi khi gửi: {type(exc).__name__}: {exc}")
                if not isinstance(exc, channels.DeliveryError):
                    log.exception("outbox: unexpected error sending %s", message.message_id)
                status = mark_failed(con, settings, message, failure.message, failure.permanent, me, now())
                report.failed += status == "failed"
                report.retried += status == "waiting"
                if failure.message not in report.errors:   # one line per distinct error, not one per message
                    report.errors.append(failure.message)
                    log.warning("outbox: %s message %s failed (%s): %s", message.channel, message.message_id,
                                status, failure.message)
                continue
            mark_sent(con, message.message_id, delivery_id, me, now())
            report.sent += 1
    return report


def resend(con: duckdb.DuckDBPyConnection, admin: auth.User, message_id: str) -> None:
    """Send a message again (an administrator's decision: a failed one, one of unknown fate, or a
    sent one asked for again); audited. A message being sent right now is refused."""
    if not auth.allowed(admin, "manage_users"):
        raise QueryError(f"Tài khoản {admin.username} không có quyền gửi lại thư.", field="role", value=admin.role,
                         allowed=["admin"])
    found = db.value(con, "outbox_status", "SELECT status FROM outbox WHERE message_id = $id", {"id": message_id})
    if found is None:
        raise QueryError(f"Không có thư mã {message_id}.", field="message_id", value=message_id)
    if found == "sending":
        raise QueryError("Thư này đang được gửi; hãy đợi kết quả rồi thử lại.", field="status", value=found)
    with db.transaction(con):
        db.execute(con, "outbox_resend", """
            UPDATE outbox SET status = 'waiting', attempts = 0, next_attempt_at = $now, lease_until = NULL,
                              last_error = $note
            WHERE message_id = $id AND status <> 'sending'""",
                   {"id": message_id, "now": dt.datetime.now(), "note": f"gửi lại theo yêu cầu của {admin.username}"})
        auth.audit(con, admin.username, "outbox_resend", message_id, f"trạng thái trước: {found}")


def listing(con: duckdb.DuckDBPyConnection, status: str | None = None, limit: int = 500) -> pd.DataFrame:
    """The newest messages (optionally of one status), with their attachments' names, for the admin page."""
    if status is not None and status not in STATUS:
        raise QueryError(f"Trạng thái '{status}' không có.", field="status", value=status, allowed=list(STATUS))
    return db.run(con, "outbox_listing", """
        SELECT o.message_id, o.created_at, o.kind, o.channel, o.recipients, o.subject, o.unit_code, o.period,
               o.status, o.attempts, o.last_error, o.next_attempt_at, o.sent_at, o.event,
               (SELECT string_agg(a.file_name, ', ' ORDER BY a.seq) FROM outbox_attachments a
                WHERE a.message_id = o.message_id) AS attachments
        FROM outbox o WHERE $status IS NULL OR o.status = $status
        ORDER BY o.created_at DESC, o.message_id LIMIT $n""", {"status": status, "n": int(limit)})


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Messages per status (every status present, zeros included)."""
    df = db.run(con, "outbox_counts", "SELECT status, count(*) AS n FROM outbox GROUP BY status")
    found = dict(zip(df["status"], df["n"].astype(int)))
    return {s: int(found.get(s, 0)) for s in STATUS}
