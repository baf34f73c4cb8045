"""Notification tables: the transactional outbox, its attachments, the runs of the scheduled jobs,
users' addresses and subscriptions, and the provinces' webhooks (all ``operational``: they hold work
that exists nowhere else, so a rebuild carries them over and the shared store keeps them in
PostgreSQL). See :mod:`xkld_geo.notifications` and docs/notifications.md."""
from __future__ import annotations

from xkld_geo.database.schema.table import Table

NOTIFICATIONS: tuple[Table, ...] = (
    Table("outbox", "operational", ddl="""
CREATE TABLE IF NOT EXISTS outbox (
    message_id VARCHAR PRIMARY KEY,     -- random hex, also the webhook's and the e-mail's Message-ID part
    idempotency_key VARCHAR NOT NULL UNIQUE,  -- what the message is about, once: kind:period:unit:channel:to
    channel VARCHAR NOT NULL CHECK (channel IN ('email', 'webhook')),
    recipients VARCHAR NOT NULL,        -- JSON list: e-mail addresses, or the webhook URL
    subject VARCHAR NOT NULL,
    body_text VARCHAR NOT NULL,
    body_html VARCHAR,                  -- e-mail only; user text in it is escaped
    payload VARCHAR,                    -- JSON: structured content (webhook body, codes a notice lists)
    kind VARCHAR NOT NULL,              -- reminder | missing | digest | report | pace | review
    unit_code VARCHAR,                  -- the province or commune the message is about (its scope)
    period VARCHAR,                     -- YYYY-MM the message is about
    event VARCHAR NOT NULL,             -- what caused it: job:<job>:<date>, review:<...>, resend:<user>
    status VARCHAR NOT NULL CHECK (status IN ('waiting', 'sending', 'sent', 'failed', 'unknown')),
    attempts INTEGER NOT NULL,
    last_error VARCHAR,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,              -- while 'sending': the claim expires then (a crashed sender)
    claimed_by VARCHAR,                 -- host:pid of the sender holding (or last holding) it
    handed_at TIMESTAMP,                -- this attempt was handed to its channel (NULL: not yet, safe to retry)
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    delivery_id VARCHAR                 -- the e-mail's Message-ID header / the webhook's request id
)""", indexes=("CREATE INDEX IF NOT EXISTS outbox_status ON outbox (status, next_attempt_at)",)),
    Table("outbox_attachments", "operational", ddl="""
CREATE TABLE IF NOT EXISTS outbox_attachments (
    message_id VARCHAR NOT NULL,
    seq INTEGER NOT NULL,
    file_name VARCHAR NOT NULL,
    content_type VARCHAR NOT NULL,
    content BLOB NOT NULL,
    PRIMARY KEY (message_id, seq)
)"""),
    Table("job_runs", "operational", ddl="""
CREATE TABLE IF NOT EXISTS job_runs (
    job VARCHAR NOT NULL,               -- reminder | missing | digest | report | pace
    due_on DATE NOT NULL,               -- the day the job was due (one run per job and day, whatever the replicas)
    period VARCHAR NOT NULL,            -- YYYY-MM of the reports it is about
    status VARCHAR NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    worker VARCHAR NOT NULL,            -- host:pid
    messages INTEGER,                   -- messages it put in the outbox
    detail VARCHAR,                     -- the error of a failed run
    PRIMARY KEY (job, due_on)
)"""),
    Table("notification_contacts", "operational", ddl="""
CREATE TABLE IF NOT EXISTS notification_contacts (
    username VARCHAR PRIMARY KEY,
    email VARCHAR,                      -- where the user's notifications go (checked on save)
    province_code VARCHAR,              -- the province whose digest, report and pace notices they follow
    updated_at TIMESTAMP NOT NULL
)"""),
    Table("notification_subscriptions", "operational", ddl="""
CREATE TABLE IF NOT EXISTS notification_subscriptions (
    username VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,              -- digest | report | pace | review
    enabled BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (username, kind)
)"""),
    Table("province_webhooks", "operational", ddl="""
CREATE TABLE IF NOT EXISTS province_webhooks (
    province_code VARCHAR PRIMARY KEY,
    url VARCHAR NOT NULL,               -- http(s) endpoint of the province's SMS/Zalo gateway (checked on save)
    enabled BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by VARCHAR NOT NULL
)"""),
)
