"""One ASGI request driven without a server, for the routes beside Streamlit (gateway, health,
published files): the tests of those routes share it instead of each writing its own driver."""
from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Answer:
    """What the app sent back: the status, each header's values (names in lower case) and the body."""

    status: int
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str:
        return self.headers[name][0]


def call(app: Callable[..., Any], method: str, path: str, *, body: bytes = b"",
         headers: list[tuple[str, str]] | None = None, client: str = "127.0.0.1") -> Answer:
    """Send one HTTP request through `app` and collect its answer."""
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or [])], "scheme": "http",
             "server": ("127.0.0.1", 8501), "client": (client, 5000), "http_version": "1.1", "root_path": ""}
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    # on a thread of its own: a browser test's Playwright may keep an event loop running on this one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    out: dict[str, list[str]] = {}
    for k, v in start["headers"]:
        out.setdefault(k.decode().lower(), []).append(v.decode())
    return Answer(start["status"], out,
                  b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))
