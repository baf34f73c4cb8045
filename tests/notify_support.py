"""Real receivers on loopback for the notification tests: an SMTP sink (aiosmtpd, its own thread
and event loop) and an HTTP receiver (the standard library's server, its own thread). Both record
what arrived, so a test counts deliveries as the receiving end saw them."""
from __future__ import annotations

import email
import email.policy
import http.server
import json
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Delivery:
    """One e-mail as the sink received it."""

    rcpt: list[str]
    message: EmailMessage

    @property
    def to(self) -> str:
        return self.rcpt[0]

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        return "" if body is None else str(body.get_content())

    def attachments(self) -> dict[str, bytes]:
        return {str(a.get_filename()): a.get_content() for a in self.message.iter_attachments()}


class _Handler:
    def __init__(self, sink: "SmtpSink") -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.received.append(Delivery(list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"


@dataclass
class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps every message; stop() and start() again on the same
    port (a server that went down and came back). With ``password`` set it requires a login."""

    port: int = field(default_factory=free_port)
    password: str | None = None
    received: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    def _auth(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password.decode() == self.password
        return AuthResult(success=ok, handled=False)

    def start(self) -> "SmtpSink":
        options: dict[str, Any] = {}
        if self.password is not None:
            options = {"authenticator": self._auth, "auth_required": True, "auth_require_tls": False}
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Delivery]:
        with self.lock:
            return [d for d in self.received if address in d.rcpt]


@dataclass
class HttpReceiver:
    """An HTTP server on 127.0.0.1 recording every POST (headers, body); answers ``status``."""

    status: int = 200
    fail_first: int = 0                  # answer 503 to this many requests first (a gateway briefly down)
    received: list[tuple[Any, bytes]] = field(default_factory=list)   # headers: case-insensitive Message
    _server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def start(self) -> "HttpReceiver":
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the standard library's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append((self.headers, body))
                self.send_response(503 if len(receiver.received) <= receiver.fail_first else receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]
