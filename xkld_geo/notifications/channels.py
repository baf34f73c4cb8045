"""Delivery channels: e-mail through SMTP (the standard ``smtplib`` and ``email``) and a webhook
(an HTTP POST of JSON signed with HMAC-SHA256 from a shared secret) for a province's SMS or Zalo
gateway.

:class:`Senders` opens one SMTP connection per pass of the sender, lazily, and reuses it; a server
that is down or refuses the login fails every e-mail of the pass with the same Vietnamese message
(they wait and go out when it is back). A :class:`DeliveryError` says whether retrying can help.

The webhook's body is the JSON of :func:`webhook_body`; its headers: ``X-XKLD-Signature:
sha256=<hex HMAC of the body>``, ``X-XKLD-Idempotency-Key`` (the same for every attempt of one
message: a receiver drops repeats) and ``X-XKLD-Message-Id``. A receiver checks the signature with
:func:`signature` over the exact bytes it received.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from types import TracebackType

from xkld_geo.notifications.messages import Claimed
from xkld_geo.settings import Settings

SIGNATURE_HEADER = "X-XKLD-Signature"
KEY_HEADER = "X-XKLD-Idempotency-Key"
ID_HEADER = "X-XKLD-Message-Id"
SMTPS_PORT = 465
"""The port on which the connection is TLS from the start (SMTP_SSL) instead of STARTTLS."""


class DeliveryError(Exception):
    """A delivery that did not happen: ``message`` in Vietnamese for the outbox page; ``permanent``
    when trying again cannot help (an address the server refuses, a webhook answering 4xx)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


def signature(secret: str, body: bytes) -> str:
    """The value of :data:`SIGNATURE_HEADER` for ``body``: ``sha256=`` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def message_id_header(message: Claimed, sender: str) -> str:
    """The e-mail's Message-ID: the outbox id at the sender's domain, the same on every attempt."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "xkld.example"
    return f"<{message.message_id}@{domain}>"


def email_of(message: Claimed, settings: Settings) -> EmailMessage:
    """The e-mail of an outbox message: plain text, HTML alternative, attachments."""
    mail = EmailMessage()
    name, address = parseaddr(settings.smtp_sender)
    mail["From"] = formataddr((name, address)) if name else address
    mail["To"] = ", ".join(message.recipients)
    mail["Subject"] = " ".join(message.subject.split())   # one line: no header injection
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = message_id_header(message, settings.smtp_sender)
    mail[KEY_HEADER] = message.idempotency_key
    mail["Auto-Submitted"] = "auto-generated"   # RFC 3834: no out-of-office replies
    mail.set_content(message.body_text)
    if message.body_html:
        mail.add_alternative(message.body_html, subtype="html")
    for a in message.attachments:
        maintype, _, subtype = a.content_type.partition("/")
        mail.add_attachment(a.content, maintype=maintype, subtype=subtype or "octet-stream", filename=a.file_name)
    return mail


def webhook_body(message: Claimed) -> bytes:
    """The JSON a webhook receives (UTF-8): what the message is, its text, and the people it is for
    (names, phones, e-mails from the payload) so a gateway can text them."""
    body = {"id": message.message_id, "idempotency_key": message.idempotency_key, "kind": message.kind,
            "period": message.period, "unit_code": message.unit_code, "subject": message.subject,
            "text": message.body_text, "people": message.payload.get("people", []),
            "created_at": message.created_at.isoformat(timespec="seconds")}
    return json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")


class Senders:
    """The channels of one pass of the sender (a context manager closing the SMTP connection)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._smtp_error: DeliveryError | None = None

    def __enter__(self) -> "Senders":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp = None

    def deliver(self, message: Claimed) -> str:
        """Send ``message``; returns its delivery id (Message-ID, or the webhook's message id)."""
        if message.channel == "email":
            return self._email(message)
        if message.channel == "webhook":
            return self._webhook(message)
        raise DeliveryError(f"Kênh '{message.channel}' không có.", permanent=True)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if self._smtp_error is not None:   # the server already failed in this pass: not asked again
            raise self._smtp_error
        if self._smtp is not None:
            return self._smtp
        where = f"{s.smtp_host}:{s.smtp_port}"
        if not s.smtp_host:
            self._smtp_error = DeliveryError("Chưa đặt máy chủ thư (XKLD_SMTP_HOST); thư chờ đến khi có.")
            raise self._smtp_error
        try:
            if s.smtp_port == SMTPS_PORT:   # implicit TLS from the first byte (RFC 8314)
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
            smtp.ehlo()
            if s.smtp_starttls and s.smtp_port != SMTPS_PORT:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
        except smtplib.SMTPAuthenticationError as exc:
            self._smtp_error = DeliveryError(f"Máy chủ thư {where} từ chối đăng nhập của {s.smtp_user} "
                                             f"({exc.smtp_code}); kiểm tra XKLD_SMTP_USER, XKLD_SMTP_PASSWORD.")
        except smtplib.SMTPNotSupportedError as exc:
            self._smtp_error = DeliveryError(f"Máy chủ thư {where} không hỗ trợ STARTTLS hoặc đăng nhập ({exc}); "
                                             "kiểm tra XKLD_SMTP_STARTTLS.")
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            self._smtp_error = DeliveryError(f"Không kết nối được máy chủ thư {where}: {exc}. Thư chờ gửi lại.")
        if self._smtp_error is not None:
            raise self._smtp_error
        self._smtp = smtp
        return smtp

    def _email(self, message: Claimed) -> str:
        smtp = self._connect()
        mail = email_of(message, self.settings)
        try:
            refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"Máy chủ thư từ chối người nhận: {', '.join(exc.recipients)}.", permanent=True) \
                from exc
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise DeliveryError(f"Máy chủ thư trả lời {exc.smtp_code}: {exc.smtp_error!r}.",
                                permanent=500 <= exc.smtp_code < 600) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise DeliveryError(f"Mất kết nối với máy chủ thư khi gửi: {exc}. Thư chờ gửi lại.") from exc
        if refused:   # some recipients refused, the others got it: recorded, not sent again
            return f"{mail['Message-ID']} (từ chối: {', '.join(refused)})"
        return str(mail["Message-ID"])

    def _drop(self) -> None:
        """Forget a connection that failed mid-message (the next e-mail opens a new one)."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.close()
            except OSError:
                pass

    def _webhook(self, message: Claimed) -> str:
        secret = self.settings.webhook_secret
        if not secret:
            raise DeliveryError("Chưa đặt khóa ký webhook (XKLD_WEBHOOK_SECRET); tin chờ đến khi có.")
        body = webhook_body(message)
        request = urllib.request.Request(message.recipients[0], data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: signature(secret, body),
            KEY_HEADER: message.idempotency_key, ID_HEADER: message.message_id, "User-Agent": "XKLD-Geo"})
        try:
            with urllib.request.urlopen(request, timeout=self.settings.smtp_timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            temporary = exc.code >= 500 or exc.code in (408, 425, 429)
            raise DeliveryError(f"Webhook trả lời {exc.code} ({exc.reason}).", permanent=not temporary) from exc
        except (urllib.error.URLError, OSError, socket.timeout) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"Không gửi được tới webhook: {reason}. Tin chờ gửi lại.") from exc
        return f"{message.message_id} (HTTP {status})"
