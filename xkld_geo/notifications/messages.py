"""The messages of the outbox: one to put in it, one claimed for sending, and their attachments.

Apart from :mod:`xkld_geo.notifications.outbox` (which stores them and runs the sender through
:mod:`xkld_geo.notifications.channels`) so that the channels, which deliver a claimed message,
do not import the outbox back.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Attachment:
    """A file sent with an e-mail."""

    file_name: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Message:
    """A message before it is put in the outbox."""

    idempotency_key: str
    channel: str
    recipients: tuple[str, ...]
    subject: str
    body_text: str
    kind: str
    event: str
    body_html: str | None = None
    unit_code: str | None = None
    period: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Claimed:
    """A message claimed for sending: its row and its attachments."""

    message_id: str
    idempotency_key: str
    channel: str
    recipients: tuple[str, ...]
    subject: str
    body_text: str
    body_html: str | None
    payload: dict[str, Any]
    kind: str
    unit_code: str | None
    period: str | None
    attempts: int
    created_at: dt.datetime
    attachments: tuple[Attachment, ...]
